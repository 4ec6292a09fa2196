/**
 * The JupyterLab 4 / Notebook 7 extension "ganvas-widgets" as a module-federation container, built by esbuild
 * (no webpack, no @jupyterlab/builder): JupyterLab loads `static/remoteEntry.js`, then calls
 * `_JUPYTERLAB["ganvas-widgets"].init(shareScope)` and `.get("./extension")`, whose module's default export is the
 * plugin. That is the whole contract a federated extension meets (read from the remoteEntry files webpack writes,
 * e.g. jupyterlab_pygments'); everything this extension imports, @jupyter-widgets/base, it takes from the share
 * scope, where the widget manager (jupyterlab_widgets) provides it, so tokens and base classes are the manager's.
 */
import type * as Base from '@jupyter-widgets/base';
import { LEGACY_MODULE_NAME, MODULE_NAME, MODULE_VERSION, makeWidgets } from './jupyter';

type ShareScope = Record<string, Record<string, { get: () => Promise<() => unknown>; loaded?: unknown }>>;

let scope: ShareScope | undefined;

function newest(versions: string[]): string {
  const key = (v: string) => v.split(/[.-]/).map((p) => Number(p) || 0);
  return versions.sort((a, b) => {
    const x = key(a);
    const y = key(b);
    for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return y[i] - x[i];
    return 0;
  })[0];
}

/** A shared module; waits (up to 30 s) for the container that provides it to register it. */
async function shared(name: string, major: number): Promise<unknown> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const versions = scope?.[name];
    if (versions) {
      const fit = Object.keys(versions).filter((v) => Number(v.split('.')[0]) === major);
      if (fit.length > 0) {
        const factory = await versions[newest(fit)].get();
        return factory();
      }
    }
    if (Date.now() > deadline) throw new Error(`ganvas-widgets: ${name}@${major} is not shared on this page; install ipywidgets 8 (jupyterlab_widgets) in the Jupyter server's environment`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface Registry {
  registerWidget(w: { name: string; version: string; exports: () => Promise<Record<string, unknown>> | Record<string, unknown> }): void;
}

const container = {
  init(s: ShareScope): void {
    scope = s;
  },
  async get(module: string): Promise<() => unknown> {
    if (module !== './extension') throw new Error(`ganvas-widgets has no module ${module}`);
    const base = (await shared('@jupyter-widgets/base', 6)) as typeof Base;
    const plugin = {
      id: 'ganvas-widgets:plugin',
      description: 'ganvas paint canvas, gallery and plots as Jupyter widgets (over comms)',
      autoStart: true,
      requires: [base.IJupyterWidgetRegistry],
      activate(_app: unknown, registry: Registry): void {
        for (const name of [MODULE_NAME, LEGACY_MODULE_NAME]) registry.registerWidget({ name, version: MODULE_VERSION, exports: () => makeWidgets(base) });
      },
    };
    return () => ({ __esModule: true, default: plugin });
  },
};

const w = window as unknown as { _JUPYTERLAB?: Record<string, unknown> };
w._JUPYTERLAB ??= {};
// The container is named after the lab extension's package (dist/labextension/package.json), not the widget module.
w._JUPYTERLAB['ganvas-widgets'] = container;
