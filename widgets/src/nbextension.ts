/**
 * The classic Notebook 6 extension: a RequireJS module "ganvas-widgets" (the module name the widget models ask
 * for) built from @jupyter-widgets/base as the page's widget manager (widgetsnbextension 4 / ipywidgets 8)
 * provides it. `extension.js` maps the name to this file and is loaded by the notebook's nbconfig.
 */
import type * as Base from '@jupyter-widgets/base';
import { makeWidgets } from './jupyter';

declare const define: (name: string, deps: string[], f: (base: typeof Base) => unknown) => void;
define('ganvas-widgets', ['@jupyter-widgets/base'], (base) => makeWidgets(base));
