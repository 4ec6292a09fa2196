/**
 * The classic Notebook 6 extension: a RequireJS module "ganvas-widgets" (the module name the widget models ask
 * for) built from @jupyter-widgets/base as the page's widget manager (widgetsnbextension 4 / ipywidgets 8)
 * provides it. `extension.js` maps the name to this file and is loaded by the notebook's nbconfig.
 */
import type * as Base from '@jupyter-widgets/base';
import { makeWidgets } from './jupyter';

// Anonymous: RequireJS names the module after the file it loaded (extension.js maps "ganvas-widgets" to it). A
// named define('ganvas-widgets', …) here left the loaded module undefined — measured in Notebook 6.4 with
// widgetsnbextension 4: "Cannot read properties of undefined (reading 'PaintModel')", and the widget fell back to
// its HTML output.
declare const define: (deps: string[], f: (base: typeof Base) => unknown) => void;
define(['@jupyter-widgets/base'], (base) => makeWidgets(base, 'classic'));
