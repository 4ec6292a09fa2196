/** Which way a widget reaches the kernel: Jupyter comms or the WebSocket bridge (shared by every widget). */
import { CommManager } from '../comm/kernel';
import { frontendHasGanvas } from '../comm/widget';

/**
 * How a widget reaches the kernel: Jupyter comms (a real Jupyter widget, needs the ganvas-widgets front-end
 * extension: `npx ganvas-widgets install`), or the WebSocket bridge. "auto" (default) takes comms inside a tslab
 * kernel it knows whose front end answers the extension probe (frontendHasGanvas, ≤ 2 s once), and the bridge
 * elsewhere; the environment variable GANVAS_WIDGET_TRANSPORT sets the default.
 */
export type WidgetTransport = 'auto' | 'comm' | 'websocket';

export async function chooseTransport(t: WidgetTransport | undefined): Promise<'comm' | 'websocket'> {
  const want = t ?? ((process.env.GANVAS_WIDGET_TRANSPORT as WidgetTransport | undefined) || 'auto');
  if (want === 'websocket') return 'websocket';
  if (want === 'comm') {
    CommManager.get(); // throws a GanvasError saying why comms are not available here
    return 'comm';
  }
  if (!CommManager.available()) return 'websocket';
  return (await frontendHasGanvas(CommManager.get())) ? 'comm' : 'websocket';
}
