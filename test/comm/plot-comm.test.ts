/**
 * The grid-size sweep plot as a Jupyter widget over comms, in a real tslab kernel driven over ZeroMQ: the PlotModel's
 * state (plot data and the SVG snapshot as a data URL), the display bundle whose HTML fallback is an <img> (kept by
 * an untrusted notebook's sanitizer), and plotly.js sent as one buffer on request — the same bytes as the package's
 * plotly.js-dist.
 */
import { expect } from 'chai';
import { readFileSync } from 'fs';
import { KernelClient, useKernel } from './client';
import { sweepSvg } from 'ganvas';

describe('sweep plot widget over Jupyter comms (real tslab kernel)', function () {
  this.timeout(300_000);
  const kernel = useKernel();
  let k: KernelClient;
  beforeEach(() => {
    k = kernel();
  });

  it('opens a PlotModel with the data and the SVG snapshot, sends plotly.js as one buffer on request', async () => {
    const points = [{ grid: 1, mean: 0.5, std: 0.1 }, { grid: 2, mean: 0.7, std: 0.05 }, { grid: 3, mean: 0.6, std: 0.02 }];
    const { out } = await k.execute(`
import * as g from 'ganvas';
await g.showSweepPlot(${JSON.stringify(points)}, { title: 'T', transport: 'comm' });
`);
    const open = out.find((m) => m.header.msg_type === 'comm_open' && (m.content.data as { state: { _model_name?: string } }).state._model_name === 'PlotModel');
    expect(open, 'comm_open of a PlotModel').to.not.equal(undefined);
    const state = (open!.content.data as { state: { _view_name: string; config: Record<string, unknown>; snapshot: string } }).state;
    expect(state._view_name).to.equal('PlotView');
    expect(state.config).to.deep.equal({ title: 'T', x: ['1', '2', '3'], mean: [0.5, 0.7, 0.6], std: [0.1, 0.05, 0.02] });
    const svg = sweepSvg(points, 'T');
    expect(state.snapshot).to.equal(`data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`);
    const shown = out.find((m) => m.header.msg_type === 'display_data')!;
    const html = String((shown.content.data as Record<string, unknown>)['text/html']);
    expect(html).to.not.include('<svg');
    expect(html).to.include(`<img class="ganvas-snapshot" alt="T" src="${state.snapshot}" width="420"/>`);

    const from = k.iopub.length;
    const req = await k.send('comm_msg', { comm_id: String(open!.content.comm_id), data: { method: 'custom', content: { type: 'plotly', id: 1 } } });
    const answer = await k.waitIopub((m) => m.parent.msg_id === req.msg_id && m.header.msg_type === 'comm_msg', from);
    expect((answer.content.data as { content: object }).content).to.deep.equal({ id: 1, ok: true });
    expect(answer.buffers).to.have.length(1);
    expect(answer.buffers[0].equals(readFileSync(require.resolve('plotly.js-dist')))).to.equal(true);
  });
});
