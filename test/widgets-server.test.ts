import { expect } from 'chai';
import * as http from 'http';
import WebSocket from 'ws';
import { GanvasError, WidgetServer, chooseTransport, sweepPlotWidget, sweepSvg } from 'ganvas';

function get(port: number, pathAndQuery: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: pathAndQuery, headers }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function wsOpen(url: string, headers: Record<string, string> = {}): Promise<{ ok: boolean; status?: number; ws?: WebSocket }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers });
    ws.on('open', () => resolve({ ok: true, ws }));
    ws.on('unexpected-response', (_req, res) => resolve({ ok: false, status: res.statusCode }));
    ws.on('error', () => resolve({ ok: false }));
  });
}

describe('widget transport', () => {
  let server: WidgetServer;
  before(async () => {
    server = await WidgetServer.start();
    server.register(async (type, payload) => ({ echo: type, n: Number(payload.n) + 1 }));
  });
  after(() => server.close());

  it('listens on 127.0.0.1 only, on a free port, with a long random token', () => {
    expect(server.url).to.match(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(server.port).to.be.greaterThan(0);
    expect(server.token).to.match(/^[0-9a-f]{64}$/);
  });

  it('serves the widget bundle and plotly with the token, and refuses without it or with a wrong one', async () => {
    expect((await get(server.port, `/static/widgets.js?token=${server.token}`)).status).to.equal(200);
    const plotly = await get(server.port, `/static/plotly.js?token=${server.token}`);
    expect(plotly.status).to.equal(200);
    expect(plotly.body.length).to.be.greaterThan(1_000_000);
    const none = await get(server.port, '/static/widgets.js');
    expect(none.status).to.equal(403);
    expect(none.body).to.include('token');
    expect((await get(server.port, `/static/widgets.js?token=${'0'.repeat(64)}`)).status).to.equal(403);
    expect((await get(server.port, `/static/widgets.js?token=${server.token.slice(1)}`)).status).to.equal(403);
  });

  it('refuses a foreign Origin or Host even with the right token', async () => {
    const q = `/static/widgets.js?token=${server.token}`;
    const evil = await get(server.port, q, { Origin: 'https://evil.example' });
    expect(evil.status).to.equal(403);
    expect(evil.body).to.include('Origin');
    expect((await get(server.port, q, { Origin: 'http://localhost:8888' })).status).to.equal(200);
    expect((await get(server.port, q, { Origin: 'http://127.0.0.1:8888' })).status).to.equal(200);
    const rebinding = await get(server.port, q, { Host: `attacker.example:${server.port}` });
    expect(rebinding.status).to.equal(403);
    expect(rebinding.body).to.include('Host');
  });

  it('accepts WebSocket requests only with the token, a local Host and a local Origin', async () => {
    const url = `ws://127.0.0.1:${server.port}/ws`;
    expect((await wsOpen(url)).status).to.equal(403);
    expect((await wsOpen(`${url}?token=wrong`)).status).to.equal(403);
    expect((await wsOpen(`${url}?token=${server.token}`, { Origin: 'https://evil.example' })).status).to.equal(403);
    expect((await wsOpen(`${url}?token=${server.token}`, { Host: 'evil.example' })).status).to.equal(403);
    const good = await wsOpen(`${url}?token=${server.token}`, { Origin: 'http://127.0.0.1:8888' });
    expect(good.ok).to.equal(true);
    const ws = good.ws as WebSocket;
    const reply = await new Promise<Record<string, unknown>>((resolve) => {
      ws.once('message', (d) => resolve(JSON.parse(d.toString())));
      ws.send(JSON.stringify({ id: 7, widget: 'w1', type: 'ping', payload: { n: 41 } }));
    });
    // t_in / t_out: the server's clock at receipt and at reply (the page's latency breakdown, bench/widgets.ts).
    const { t_in: tIn, t_out: tOut, ...answer } = reply;
    expect(answer).to.deep.equal({ id: 7, ok: true, echo: 'ping', n: 42 });
    expect(Number(tOut)).to.be.at.least(Number(tIn)).and.closeTo(Date.now(), 60_000);
    const unknown = await new Promise<Record<string, unknown>>((resolve) => {
      ws.once('message', (d) => resolve(JSON.parse(d.toString())));
      ws.send(JSON.stringify({ id: 8, widget: 'w99', type: 'ping' }));
    });
    expect(String(unknown.error)).to.include('no widget "w99"');
    // JSON that is no request object (null, a number, an array, a non-object payload) gets an error reply; the
    // server (and the process) keeps going and still answers a good request afterwards.
    for (const bad of ['null', '42', '[1,2]', '"text"', JSON.stringify({ id: 9, widget: 'w1', type: 'ping', payload: null }), JSON.stringify({ id: 9, widget: 'w1', type: 'ping', payload: [1] })]) {
      const r = await new Promise<Record<string, unknown>>((resolve) => {
        ws.once('message', (d) => resolve(JSON.parse(d.toString())));
        ws.send(bad);
      });
      expect(String(r.error), bad).to.match(/must be a JSON object/);
    }
    const after = await new Promise<Record<string, unknown>>((resolve) => {
      ws.once('message', (d) => resolve(JSON.parse(d.toString())));
      ws.send(JSON.stringify({ id: 10, widget: 'w1', type: 'ping', payload: { n: 1 } }));
    });
    expect(after).to.deep.include({ id: 10, ok: true, echo: 'ping', n: 2 });
    ws.close();
  });

  it('widget HTML carries a static snapshot and the inlined bundle; the plot snapshot is an SVG in an <img> (survives an untrusted notebook\'s sanitizer)', async () => {
    const points = [{ grid: 1, mean: 0.5, std: 0.1 }, { grid: 2, mean: 0.7, std: 0.05 }];
    const svg = sweepSvg(points);
    expect(svg).to.match(/^<svg/);
    expect((svg.match(/<circle/g) ?? []).length).to.equal(2);
    const html = await sweepPlotWidget(points);
    expect(html).to.not.include('<svg');
    const src = /<img class="ganvas-snapshot" alt="tileability vs grid size" src="data:image\/svg\+xml;base64,([A-Za-z0-9+/=]+)" width="420"\/>/.exec(html);
    expect(src, 'an <img> with an SVG data URL').to.not.equal(null);
    expect(Buffer.from(src![1], 'base64').toString('utf8')).to.equal(svg);
    expect(html).to.include('ganvasWidgets');
    expect(html).to.not.match(/<\/script>[\s\S]*<\/script>[\s\S]*<\/script>/);
  });
});

describe('chooseTransport', () => {
  const saved = process.env.GANVAS_WIDGET_TRANSPORT;
  afterEach(() => {
    if (saved === undefined) delete process.env.GANVAS_WIDGET_TRANSPORT;
    else process.env.GANVAS_WIDGET_TRANSPORT = saved;
  });

  it('outside a tslab kernel: auto and websocket give the bridge; a misspelt transport is refused, naming the three', async () => {
    delete process.env.GANVAS_WIDGET_TRANSPORT;
    expect(await chooseTransport(undefined)).to.equal('websocket');
    expect(await chooseTransport('auto')).to.equal('websocket');
    expect(await chooseTransport('websocket')).to.equal('websocket');
    const bad = await chooseTransport('comms' as 'comm').then(() => undefined, (e: unknown) => e);
    expect(bad).to.be.instanceOf(GanvasError);
    expect((bad as Error).message).to.match(/transport "comms" is not a widget transport; use "auto", "comm" or "websocket"/);
    process.env.GANVAS_WIDGET_TRANSPORT = 'web';
    const badEnv = await chooseTransport(undefined).then(() => undefined, (e: unknown) => e);
    expect((badEnv as Error).message).to.match(/GANVAS_WIDGET_TRANSPORT="web" is not a widget transport/);
    expect(await chooseTransport('websocket'), 'an explicit option wins over the variable').to.equal('websocket');
  });
});
