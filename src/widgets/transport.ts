/** Which way a widget reaches the kernel: Jupyter comms or the WebSocket bridge (shared by every widget). */
import { CommManager } from '../comm/kernel';
import { frontendHasGanvas } from '../comm/widget';
import { GanvasError } from '../errors';

/**
 * How a widget reaches the kernel: Jupyter comms (a real Jupyter widget, needs the ganvas-widgets front-end
 * extension: `npx ganvas-widgets install`), or the WebSocket bridge. "auto" (default) takes comms inside a tslab
 * kernel it knows whose front end answers the extension probe (frontendHasGanvas, ≤ 2 s once), and the bridge
 * elsewhere; the environment variable GANVAS_WIDGET_TRANSPORT sets the default.
 */
export type WidgetTransport = 'auto' | 'comm' | 'websocket';

const TRANSPORTS: readonly string[] = ['auto', 'comm', 'websocket'];

export async function chooseTransport(t: WidgetTransport | undefined): Promise<'comm' | 'websocket'> {
  const env = process.env.GANVAS_WIDGET_TRANSPORT || undefined;
  const want = t ?? env ?? 'auto';
  if (!TRANSPORTS.includes(want)) {
    const where = t === undefined ? `GANVAS_WIDGET_TRANSPORT=${JSON.stringify(env)}` : `transport ${JSON.stringify(t)}`;
    throw new GanvasError('BAD_INPUT', `${where} is not a widget transport; use "auto", "comm" or "websocket"`);
  }
  if (want === 'websocket') return 'websocket';
  if (want === 'comm') {
    CommManager.get(); // throws a GanvasError saying why comms are not available here
    return 'comm';
  }
  if (!CommManager.available()) return 'websocket';
  return (await frontendHasGanvas(CommManager.get())) ? 'comm' : 'websocket';
}
