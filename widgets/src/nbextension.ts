/**
 * The classic Notebook 6 extension: a RequireJS module "ganvas/nbextension/index" (the module name the widget
 * models ask for; also the file a CDN serves to nbconvert's HTML) built from @jupyter-widgets/base as the page's
 * widget manager (widgetsnbextension 4 / ipywidgets 8, or @jupyter-widgets/html-manager) provides it. `extension.js` maps the name to this file and is loaded by the notebook's nbconfig.
 */
import type * as Base from '@jupyter-widgets/base';
import { makeWidgets } from './jupyter';

// Anonymous: RequireJS names the module after the file it loaded (extension.js maps the module name to it). A
// named define('ganvas-widgets', …) here left the loaded module undefined — measured in Notebook 6.4 with
// widgetsnbextension 4: "Cannot read properties of undefined (reading 'PaintModel')", and the widget fell back to
// its HTML output.
declare const define: (deps: string[], f: (base: typeof Base) => unknown) => void;
define(['@jupyter-widgets/base'], (base) => makeWidgets(base, 'classic'));
