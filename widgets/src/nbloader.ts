/**
 * The classic Notebook 6 extension's loader (`extension.js`, loaded by the notebook's nbconfig): maps the widget
 * module name to the nbextension (nbextension.ts) and keeps live ganvas views alive through the widget manager's
 * start-up re-render.
 *
 * Why the second part. ipywidgets 8's classic widget manager, once made for the page's kernel, first asks the kernel
 * for its widgets (a "jupyter.widget.control" comm, then, after a 4 s timeout, comm_info) and then re-renders every
 * cell that has a widget output. tslab answers no comm message until ganvas is imported, so with the notebook run
 * right after it is opened (Run All, a warm kernel) the re-render comes seconds later, after ganvas's widgets are
 * shown and live. Re-rendering removes the live view, whose "remove" handler (ipywidgets' extension.js) blanks the
 * output's model id, so the new render finds no model and the output falls back to its static HTML: a dead canvas.
 * Measured in Notebook 6.4 + widgetsnbextension 4.0 (test/e2e/nb6-comm.test.ts): the control comm request sent at
 * 4.9 s, unanswered; comm_info at 10.2 s; three "Jupyter Widgets model not found" 20 ms later, every ganvas view gone.
 * So a cell whose every widget output already has its ganvas view on the page is not re-rendered; any other cell is,
 * as before.
 */
interface ClassicCell {
  output_area?: { outputs?: { data?: Record<string, unknown> }[]; element?: ArrayLike<HTMLElement> };
}
interface ClassicNotebook {
  render_cell_output(cell: ClassicCell): unknown;
  __ganvasKeepsViews?: boolean;
}
type Require = ((deps: string[], f: (...mods: unknown[]) => void) => void) & { config(c: object): void };
declare const define: (deps: string[], f: () => unknown) => void;

const WIDGET_VIEW = 'application/vnd.jupyter.widget-view+json';

/** True when `cell` has widget outputs and each has a ganvas view (element marked with its model id) on the page. */
export function viewsAlreadyShown(cell: ClassicCell): boolean {
  const area = cell.output_area;
  const root = area?.element?.[0];
  if (!area || !root) return false;
  const ids = (area.outputs ?? [])
    .map((o) => o.data?.[WIDGET_VIEW] as { model_id?: unknown } | undefined)
    .filter((v): v is { model_id?: unknown } => v !== undefined)
    .map((v) => v.model_id);
  if (ids.length === 0) return false;
  return ids.every((id) => typeof id === 'string' && id !== '' && root.querySelector(`.ganvas-widget[data-ganvas-model="${CSS.escape(id)}"]`) !== null);
}

// On the prototype: Notebook 6 seals its notebook object (Object.seal in its constructor), so a method set on the
// instance is refused (measured: Object.isExtensible(Jupyter.notebook) is false).
function keepLiveViews(nb: ClassicNotebook): void {
  const proto = Object.getPrototypeOf(nb) as ClassicNotebook;
  if (proto.__ganvasKeepsViews) return;
  const render = proto.render_cell_output;
  proto.render_cell_output = function (this: ClassicNotebook, cell: ClassicCell): unknown {
    return viewsAlreadyShown(cell) ? undefined : render.call(this, cell);
  };
  proto.__ganvasKeepsViews = true;
}

define([], () => {
  const page = window as unknown as { require: Require; requirejs: Require };
  // The widget module (MODULE_NAME in jupyter.ts) and its old name, both to the installed nbextension.
  page.require.config({ map: { '*': { 'ganvas/nbextension/index': 'nbextensions/ganvas-widgets/index', 'ganvas-widgets': 'nbextensions/ganvas-widgets/index' } } });
  return {
    load_ipython_extension(): void {
      page.requirejs(['base/js/namespace'], (Jupyter) => {
        const nb = (Jupyter as { notebook?: ClassicNotebook }).notebook;
        if (nb && typeof nb.render_cell_output === 'function') keepLiveViews(nb);
      });
    },
  };
});
