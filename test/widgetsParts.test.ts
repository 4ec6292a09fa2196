/**
 * The widget server (src/widgets/server.ts) and the plot snapshots (plot.ts, lines.ts) in this process, fast enough
 * for mutation testing (issue 19): the server's checks called directly and over a loopback socket, the SVG
 * geometry worked out by hand from the plot's layout (margins, axis ends, even spacing), the widget configs parsed
 * back from the HTML.
 */
import { expect } from 'chai';
import { readFileSync } from 'fs';
import * as http from 'http';
import * as net from 'net';
import WebSocket from 'ws';
import {
  GanvasError,
  GridCurveSeries,
  WidgetHost,
  WidgetServer,
  gridCurvePlotWidget,
  gridCurveSvg,
  linePlotSvg,
  linePlotWidget,
  showGridCurvePlot,
  showLinePlot,
  showSweepPlot,
  sweepPlotWidget,
  sweepSvg,
} from 'ganvas';
import { rejectsGanvas, stdoutOf, throwsGanvas } from './util';

/**
 * `p`, or a rejection after `ms`: a reply that never comes fails the test at once instead of running into the
 * mocha / StrykerJS timeout (which also restarts StrykerJS's test process: seconds per mutant).
 */
function within<T>(p: Promise<T>, what: string, ms = 5000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms)));
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

type Req = http.IncomingMessage;
const req = (host: string | undefined, url: string, origin?: string, token?: string): Req =>
  ({ headers: { ...(host === undefined ? {} : { host }), ...(origin === undefined ? {} : { origin }), ...(token === undefined ? {} : { 'x-ganvas-token': token }) }, url }) as unknown as Req;

function get(port: number, pathAndQuery: string, headers: Record<string, string> = {}): Promise<{ status: number; body: Buffer; headers: http.IncomingHttpHeaders }> {
  return within(new Promise((resolve, reject) => {
    const r = http.request({ host: '127.0.0.1', port, path: pathAndQuery, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), headers: res.headers }));
    });
    r.on('error', reject);
    r.end();
  }), `answer to GET ${pathAndQuery}`);
}


/** The live widget's config, as the mount call in the HTML carries it. */
function config(html: string): Record<string, unknown> {
  const m = /mount\(el,(\{.*\})\);\}\}\)\(\);<\/script>$/.exec(html);
  expect(m, 'a mount call with the config').to.not.equal(null);
  return JSON.parse(m![1]) as Record<string, unknown>;
}

/** The SVG inside a snapshot <img> (base64 data URL), and the <img>'s alt and width. */
function snapshotSvg(html: string): { svg: string; alt: string; width?: string } {
  const m = /<img class="ganvas-snapshot" alt="([^"]*)" src="data:image\/svg\+xml;base64,([A-Za-z0-9+/=]+)"(?: width="(\d+)")?\/>/.exec(html);
  expect(m, 'an SVG snapshot').to.not.equal(null);
  return { svg: Buffer.from(m![2], 'base64').toString('utf8'), alt: m![1], width: m![3] };
}

/** Attributes of every `<tag ...>` in an SVG, in order. */
function elements(svg: string, tag: string): Record<string, string>[] {
  return [...svg.matchAll(new RegExp(`<${tag} ([^>]*?)/?>`, 'g'))].map((m) => Object.fromEntries([...m[1].matchAll(/([\w-]+)="([^"]*)"/g)].map((a) => [a[1], a[2]])));
}

/** `<text ...>content</text>` elements: attributes and content. */
function texts(svg: string): { a: Record<string, string>; t: string }[] {
  return [...svg.matchAll(/<text ([^>]*)>([^<]*)<\/text>/g)].map((m) => ({ a: Object.fromEntries([...m[1].matchAll(/([\w-]+)="([^"]*)"/g)].map((x) => [x[1], x[2]])), t: m[2] }));
}

const num = (s: string | undefined) => Number(s);

/** Nothing but elements between the tags: the svg tag opens straight onto its first child, every closing tag and
 * self-closed element is followed by the next tag or the end. */
function clean(svg: string): void {
  expect(svg, 'svg opens onto an element').to.match(/^<svg[^>]*><[a-z]/);
  expect(svg.match(/(\/>|<\/\w+>)(?!<|$)/g), 'text between elements').to.equal(null);
}

describe('widget parts: the server', function () {
  this.timeout(60_000);
  const saved = { origins: process.env.GANVAS_WIDGET_ORIGINS, port: process.env.GANVAS_WIDGET_PORT };
  // Started by the first test that needs it, not in a before() hook: StrykerJS runs every test for code that runs
  // outside tests (before hooks), which made each server.ts mutant cost the whole suite.
  let started: WidgetServer | undefined;
  const srv = async () => (started ??= await WidgetServer.start({ token: 'a'.repeat(16), allowedOrigins: ['https://hub.example.org'] }));
  before(() => {
    delete process.env.GANVAS_WIDGET_ORIGINS;
    delete process.env.GANVAS_WIDGET_PORT;
  });
  after(async () => {
    await started?.close();
    started = undefined;
    for (const [k, v] of [['GANVAS_WIDGET_ORIGINS', saved.origins], ['GANVAS_WIDGET_PORT', saved.port]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  it('takes a given token of 16 characters or more, refuses shorter ones and non-strings; makes a 64-hex one', async () => {
    const server = await srv();
    expect(server.token).to.equal('aaaaaaaaaaaaaaaa');
    for (const bad of ['a'.repeat(15), '', 42 as unknown as string]) {
      expect((await rejectsGanvas(WidgetServer.start({ token: bad }), 'BAD_INPUT')).message).to.match(/token must be a string of at least 16 characters/);
    }
    const s = await WidgetServer.start();
    try {
      expect((s as unknown as { server: net.Server }).server.address(), 'bound to the loopback address only').to.include({ address: '127.0.0.1', port: s.port });
      expect(s.token).to.match(/^[0-9a-f]{64}$/);
      expect(s.url).to.equal(`http://127.0.0.1:${s.port}`);
      expect(s.wsUrl).to.equal(`ws://127.0.0.1:${s.port}/ws`);
      expect(s.port).to.not.equal(server.port);
    } finally {
      await s.close();
    }
  });

  it('listens on the port asked for (option or GANVAS_WIDGET_PORT), refuses a bad one by its name, reports a busy one', async () => {
    const free = await new Promise<number>((resolve) => {
      const probe = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (probe.address() as net.AddressInfo).port;
        probe.close(() => resolve(p));
      });
    });
    process.env.GANVAS_WIDGET_PORT = String(free);
    const s = await WidgetServer.start();
    try {
      expect(s.port).to.equal(free);
      const busy = await rejectsGanvas(WidgetServer.start({ port: free }), 'RUNTIME');
      expect(busy.message).to.include(`the widget server could not listen on 127.0.0.1:${free}: `).and.match(/EADDRINUSE/);
    } finally {
      await s.close();
    }
    process.env.GANVAS_WIDGET_PORT = 'abc';
    expect((await rejectsGanvas(WidgetServer.start(), 'BAD_INPUT')).message).to.include('GANVAS_WIDGET_PORT');
    delete process.env.GANVAS_WIDGET_PORT;
    const opt = await rejectsGanvas(WidgetServer.start({ port: 1.5 }), 'BAD_INPUT');
    expect(opt.message).to.include('the widget server port').and.not.include('GANVAS_WIDGET_PORT');
  });

  it('does not keep the process alive (a finished script exits with a widget server started)', async () => {
    const held = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPServerWrap').length;
    const before = held();
    const s = await WidgetServer.start();
    try {
      expect(held()).to.equal(before);
    } finally {
      await s.close();
    }
  });

  it('answers 500 with the reason when a file it serves cannot be read', async () => {
    const server = await srv();
    const { promises } = await import('fs');
    const readFile = promises.readFile;
    promises.readFile = (async () => {
      throw Object.assign(new Error('EACCES: permission denied, open widgets.js'), { code: 'EACCES' });
    }) as unknown as typeof readFile;
    try {
      const r = await get(server.port, `/static/widgets.js?token=${server.token}`);
      expect([r.status, r.headers['content-type'], r.body.toString()]).to.deep.equal([500, 'text/plain', 'EACCES: permission denied, open widgets.js']);
    } finally {
      promises.readFile = readFile;
    }
  });

  it('numbers the widgets it registers w1, w2, …', async () => {
    const s = await WidgetServer.start();
    try {
      expect([s.register(async () => ({})), s.register(async () => ({})), s.register(async () => ({}))]).to.deep.equal(['w1', 'w2', 'w3']);
    } finally {
      await s.close();
    }
  });

  it('refusal(): the Host must name this server; local, VS Code and listed Origins pass; the token must match exactly', async () => {
    const server = await srv();
    const p = server.port;
    const t = server.token;
    for (const host of [`127.0.0.1:${p}`, `localhost:${p}`, `[::1]:${p}`]) expect(server.refusal(req(host, `/x?token=${t}`)), host).to.equal(null);
    for (const host of [`127.0.0.1:${p + 1}`, `evil.example:${p}`, '127.0.0.1', '']) {
      expect(server.refusal(req(host, `/x?token=${t}`)), host).to.equal(`Host "${host}" is not this widget server`);
    }
    expect(server.refusal(req(undefined, `/x?token=${t}`))).to.equal('Host "" is not this widget server');
    const ok = ['http://localhost', 'http://localhost:8888', 'https://127.0.0.1:1', 'http://[::1]:8888', 'vscode-webview://0abc-def', 'VSCODE-WEBVIEW://x1', 'https://hub.example.org'];
    for (const origin of ok) expect(server.refusal(req(`127.0.0.1:${p}`, `/?token=${t}`, origin)), origin).to.equal(null);
    const bad = ['xvscode-webview://abc', 'https://evil.example', 'http://localhost.evil.example', 'http://localhost:8888/x', 'ftp://localhost', 'http://127.0.0.1:', 'xhttp://localhost', 'vscode-webview://a/b', 'vscode-webview://', 'https://hub.example.org/', 'null'];
    for (const origin of bad) {
      expect(server.refusal(req(`127.0.0.1:${p}`, `/?token=${t}`, origin)), origin).to.equal(`Origin "${origin}" is not allowed; add it to GANVAS_WIDGET_ORIGINS (comma-separated) if it is your notebook page`);
    }
    // The token: in the query or the x-ganvas-token header; same length but different, shorter, longer, missing.
    expect(server.refusal(req(`localhost:${p}`, '/', undefined, t))).to.equal(null);
    for (const url of [`/?token=${'b'.repeat(16)}`, `/?token=${t.slice(1)}`, `/?token=${t}a`, '/', '/?tok=' + t]) {
      expect(server.refusal(req(`localhost:${p}`, url)), url).to.equal('missing or wrong token');
    }
    expect(server.refusal({ headers: { host: `localhost:${p}`, 'x-ganvas-token': t } } as unknown as Req), 'no url').to.equal(null);
  });

  it('GANVAS_WIDGET_ORIGINS adds origins (comma-separated, trimmed)', async () => {
    process.env.GANVAS_WIDGET_ORIGINS = ' https://a.example , ,https://b.example:8443';
    const s = await WidgetServer.start();
    try {
      const r = (origin: string) => s.refusal(req(`127.0.0.1:${s.port}`, `/?token=${s.token}`, origin));
      expect([r('https://a.example'), r('https://b.example:8443')]).to.deep.equal([null, null]);
      expect(r('https://c.example')).to.match(/^Origin "https:\/\/c\.example" is not allowed/);
      expect(r('https://hub.example.org'), 'the other server\'s option is not this one\'s').to.match(/not allowed/);
      expect(r(''), 'the empty entries are dropped').to.match(/not allowed/);
    } finally {
      delete process.env.GANVAS_WIDGET_ORIGINS;
      await s.close();
    }
  });

  it('serves the widget bundle and plotly.js (with the token), 404 for anything else, 403 with the reason', async () => {
    const server = await srv();
    const q = `?token=${server.token}`;
    const js = await get(server.port, `/static/widgets.js${q}`, { Origin: 'http://localhost:8888' });
    expect(js.status).to.equal(200);
    expect(js.headers['content-type']).to.equal('text/javascript; charset=utf-8');
    expect(js.headers['cache-control']).to.equal('private, max-age=3600');
    expect(js.headers['access-control-allow-origin']).to.equal('http://localhost:8888');
    expect(js.body.equals(readFileSync(require.resolve('ganvas').replace(/index\.js$/, 'widgets.js')))).to.equal(true);
    const plotly = await get(server.port, `/static/plotly.js${q}`);
    expect(plotly.headers['access-control-allow-origin'], 'no Origin sent').to.equal('*');
    expect(plotly.body.equals(readFileSync(require.resolve('plotly.js-dist')))).to.equal(true);
    const missing = await get(server.port, `/static/other.js${q}`);
    expect([missing.status, missing.headers['content-type'], missing.body.toString()]).to.deep.equal([404, 'text/plain', 'not found']);
    const refused = await get(server.port, '/static/widgets.js');
    expect([refused.status, refused.headers['content-type'], refused.body.toString()]).to.deep.equal([403, 'text/plain', 'missing or wrong token']);
  });

  it('WebSocket: refuses an upgrade with the reason; answers requests, errors and non-requests; close() ends it all', async () => {
    const s = await WidgetServer.start();
    const calls: [string, unknown][] = [];
    const w = s.register(async (type, payload) => {
      calls.push([type, payload]);
      if (type === 'fail') throw new GanvasError('BAD_INPUT', 'asked to fail');
      return { n: Number(payload.n ?? 0) + 1 };
    });
    const refused = await within(new Promise<{ status?: number; body: string }>((resolve) => {
      const ws = new WebSocket(`${s.wsUrl}?token=nope`);
      ws.on('unexpected-response', (_q, res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode, body }));
      });
      ws.on('error', () => resolve({ body: '' }));
    }), 'refusal');
    expect(refused).to.deep.equal({ status: 403, body: 'missing or wrong token' });
    const ws = new WebSocket(`${s.wsUrl}?token=${s.token}`);
    await within(new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject)), 'WebSocket open');
    const ask = (text: string) =>
      within(
        new Promise<Record<string, unknown>>((resolve) => {
          ws.once('message', (d) => resolve(JSON.parse(d.toString())));
          ws.send(text);
        }),
        `reply to ${text}`,
      );
    const t0 = Date.now();
    const ok = await ask(JSON.stringify({ id: 'a', widget: w, type: 'inc', payload: { n: 4 } }));
    const { t_in: tIn, t_out: tOut, ...rest } = ok;
    expect(rest).to.deep.equal({ id: 'a', ok: true, n: 5 });
    expect(Number(tIn)).to.be.within(t0 - 1000, Date.now() + 1000);
    expect(Number(tOut)).to.be.at.least(Number(tIn));
    expect(await ask(JSON.stringify({ widget: w, type: 'inc' }))).to.deep.include({ id: null, ok: true, n: 1 });
    expect(calls.at(-1), 'no payload: an empty object').to.deep.equal(['inc', {}]);
    expect(await ask(JSON.stringify({ id: 3, widget: w, type: 'fail', payload: {} }))).to.deep.equal({ id: 3, error: 'asked to fail' });
    expect(await ask(JSON.stringify({ widget: w, type: 'fail' }))).to.deep.equal({ id: null, error: 'asked to fail' });
    expect(await ask(JSON.stringify({ widget: w, payload: { n: 1 } }))).to.deep.include({ ok: true, n: 2 });
    expect(calls.at(-1), 'no type: the text "undefined"').to.deep.equal(['undefined', { n: 1 }]);
    expect(await ask(JSON.stringify({ id: 4, widget: 'w9', type: 'inc' }))).to.deep.equal({ id: 4, error: 'no widget "w9" in this kernel (was the kernel restarted? re-run the cell)' });
    expect(await ask(JSON.stringify({ type: 'inc' }))).to.deep.equal({ id: null, error: 'no widget "undefined" in this kernel (was the kernel restarted? re-run the cell)' });
    expect(await ask('{oops')).to.deep.equal({ id: null, error: 'messages must be JSON' });
    for (const bad of ['null', '7', '[1]']) expect(await ask(bad), bad).to.deep.equal({ id: null, error: 'a message must be a JSON object {id, widget, type, payload}' });
    expect(await ask(JSON.stringify({ id: 5, widget: w, payload: 'x' }))).to.deep.equal({ id: 5, error: 'payload must be a JSON object' });
    expect(await ask(JSON.stringify({ widget: w, payload: null }))).to.deep.equal({ id: null, error: 'payload must be a JSON object' });
    expect(await ask(JSON.stringify({ widget: w, payload: [1] }))).to.deep.equal({ id: null, error: 'payload must be a JSON object' });
    expect(calls).to.have.length(5);
    const closed = new Promise((resolve) => ws.once('close', resolve));
    await within(s.close(), 'close()');
    await within(closed, 'socket close');
    const after = await new Promise<boolean>((resolve) => {
      const c = net.connect(s.port, '127.0.0.1');
      c.once('connect', () => (c.destroy(), resolve(true)));
      c.once('error', () => resolve(false));
    });
    expect(after, 'nothing listens after close()').to.equal(false);
  });

  it('WidgetHost starts one server on first use, shares it, and starts a new one after close()', async () => {
    const host = new WidgetHost({ token: 'c'.repeat(20) });
    await host.close(); // nothing started: nothing to do
    const a = await host.server();
    expect(await host.server()).to.equal(a);
    expect(a.token).to.equal('c'.repeat(20));
    await host.close();
    const refused = await new Promise<boolean>((resolve) => {
      const c = net.connect(a.port, '127.0.0.1');
      c.once('connect', () => (c.destroy(), resolve(false)));
      c.once('error', () => resolve(true));
    });
    expect(refused, 'the first server is closed').to.equal(true);
    const b = await host.server();
    expect(b).to.not.equal(a);
    await host.close();
    await host.close();
  });
});

describe('widget parts: plots', function () {
  this.timeout(60_000);
  const host = new WidgetHost();
  after(() => host.close());

  it('sweepSvg: points evenly spaced in the plot area, lo → bottom axis, hi → top, three value labels', () => {
    // Plot area: x 50 … 405 (420 − 15), y 30 … 220 (260 − 40). lo = 0.5 − 0.1 = 0.4, hi = 0.7 + 0.05 = 0.75.
    const svg = sweepSvg([{ grid: 1, mean: 0.5, std: 0.1 }, { grid: 2, mean: 0.7, std: 0.05 }], 'a <b> & c');
    expect(svg).to.match(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="420" height="260" font-family="sans-serif">/);
    const lines = elements(svg, 'line');
    expect(lines.slice(0, 2)).to.deep.equal([
      { x1: '50', y1: '220', x2: '405', y2: '220', stroke: '#444' },
      { x1: '50', y1: '30', x2: '50', y2: '220', stroke: '#444' },
    ]);
    // Error bars: point 0 at x = 50 + 355/4, from 0.4 (bottom, 220) to 0.6; point 1 at 50 + 3·355/4, 0.65 … 0.75 (top, 30).
    const bars = lines.slice(2);
    expect(bars).to.have.length(2);
    const y = (v: number) => 220 - (190 * (v - 0.4)) / 0.35;
    expect(num(bars[0].x1)).to.be.closeTo(138.75, 1e-9);
    expect(num(bars[1].x2)).to.be.closeTo(316.25, 1e-9);
    expect(num(bars[0].y1)).to.be.closeTo(220, 1e-9);
    expect(num(bars[0].y2)).to.be.closeTo(y(0.6), 1e-9);
    expect(num(bars[1].y1)).to.be.closeTo(y(0.65), 1e-9);
    expect(num(bars[1].y2)).to.be.closeTo(30, 1e-9);
    const dots = elements(svg, 'circle');
    expect(dots.map((d) => [d.r, d.fill])).to.deep.equal([['3.5', '#1f77b4'], ['3.5', '#1f77b4']]);
    [[138.75, y(0.5)], [316.25, y(0.7)]].forEach(([cx, cy], i) => {
      expect(num(dots[i].cx)).to.be.closeTo(cx, 1e-9);
      expect(num(dots[i].cy)).to.be.closeTo(cy, 1e-9);
    });
    const t = texts(svg);
    expect(t[0]).to.deep.equal({ a: { x: '210', y: '18', 'text-anchor': 'middle', 'font-size': '13' }, t: 'a &lt;b&gt; &amp; c' });
    expect(t.slice(1, 4).map((x) => [x.t, x.a.x, x.a['text-anchor']])).to.deep.equal([['0.400', '46', 'end'], ['0.575', '46', 'end'], ['0.750', '46', 'end']]);
    t.slice(1, 4).forEach((x, i) => expect(num(x.a.y)).to.be.closeTo([224, 129, 34][i], 1e-9));
    expect(t.filter((x) => x.a.y === '236').map((x) => x.t)).to.deep.equal(['1', '2']);
    expect(t.at(-1)).to.deep.equal({ a: { x: '210', y: '254', 'text-anchor': 'middle', 'font-size': '11' }, t: 'grid size g' });
    const poly = elements(svg, 'polyline');
    expect(poly).to.have.length(1);
    const pts = poly[0].points.split(' ').map((p) => p.split(',').map(Number));
    expect(pts).to.have.length(2);
    [[138.75, y(0.5)], [316.25, y(0.7)]].forEach(([px, py], i) => {
      expect(pts[i][0]).to.be.closeTo(px, 1e-9);
      expect(pts[i][1]).to.be.closeTo(py, 1e-9);
    });
    expect(sweepSvg([{ grid: 3, mean: 0.5, std: 0 }])).to.include('>tileability vs grid size</text>');
    clean(svg);
  });

  it('sweepSvg: a flat curve (no spread) sits on the bottom axis instead of dividing by zero', () => {
    const svg = sweepSvg([{ grid: 1, mean: 0.5, std: 0 }, { grid: 2, mean: 0.5, std: 0 }, { grid: 4, mean: 0.5, std: 0 }]);
    expect(svg).to.not.include('NaN');
    const dots = elements(svg, 'circle');
    for (const d of dots) expect(num(d.cy)).to.be.closeTo(220, 1e-9);
    // Three points: x = 50 + 355·(i + ½)/3.
    dots.forEach((d, i) => expect(num(d.cx)).to.be.closeTo(50 + (355 * (i + 0.5)) / 3, 1e-9));
  });

  it('refuses plots of no points and points without a finite mean and std ≥ 0 (they drew NaN coordinates)', async () => {
    for (const bad of [[], undefined]) expect(throwsGanvas(() => sweepSvg(bad as never), 'BAD_INPUT').message).to.equal('a grid-size sweep plot needs at least one point');
    const cases: [object, string][] = [
      [{ grid: 2, mean: NaN, std: 0 }, 'g = 2: mean NaN, std 0'],
      [{ grid: 3, mean: 0.5, std: Infinity }, 'g = 3: mean 0.5, std Infinity'],
      [{ grid: 4, mean: 0.5, std: -0.1 }, 'g = 4: mean 0.5, std -0.1'],
      [{ grid: 5, mean: -Infinity, std: 0.1 }, 'g = 5: mean -Infinity, std 0.1'],
    ];
    for (const [p, got] of cases) {
      const e = throwsGanvas(() => sweepSvg([{ grid: 1, mean: 0.5, std: 0 }, p as never]), 'BAD_INPUT');
      expect(e.message).to.equal(`a grid-size sweep plot: a point needs a finite mean and std ≥ 0, got ${got}`);
    }
    expect(throwsGanvas(() => sweepSvg([null as never])).message).to.equal('a grid-size sweep plot: a point needs a finite mean and std ≥ 0, got g = undefined: mean undefined, std undefined');
    // std 0 and a "full" grid are fine.
    expect(sweepSvg([{ grid: 'full', mean: 0.5, std: 0 }])).to.include('>full</text>');
    await rejectsGanvas(sweepPlotWidget([], { host }), 'BAD_INPUT');
    expect(throwsGanvas(() => gridCurveSvg([]), 'BAD_INPUT').message).to.equal('the Fig. 9 plot needs at least one series');
    expect(throwsGanvas(() => gridCurveSvg('x' as never), 'BAD_INPUT').message).to.equal('the Fig. 9 plot needs at least one series');
    expect(throwsGanvas(() => gridCurveSvg([{ name: 'a', points: [] }]), 'BAD_INPUT').message).to.equal('series "a" needs at least one point');
    const nan = { grid: 1, mean: NaN, std: 0, imageStd: 0, runs: [], images: 0 };
    expect(throwsGanvas(() => gridCurveSvg([{ name: 'b', points: [nan] }]), 'BAD_INPUT').message).to.equal('series "b": a point needs a finite mean and std ≥ 0, got g = 1: mean NaN, std 0');
    await rejectsGanvas(gridCurvePlotWidget([{ name: 'c', points: [] }], { host }), 'BAD_INPUT');
  });

  it('the sweep plot widget: SVG snapshot in an <img>, config with x as strings, mean and std; shown outside a notebook as a note', async () => {
    const points = [{ grid: 2, mean: 0.25, std: 0.5 }, { grid: 5, mean: 0.125, std: 0 }];
    const html = await sweepPlotWidget(points, { host });
    const snap = snapshotSvg(html);
    expect(snap).to.deep.equal({ svg: sweepSvg(points), alt: 'tileability vs grid size', width: '420' });
    const cfg = config(html);
    expect(cfg).to.deep.include({ title: 'tileability vs grid size', x: ['2', '5'], mean: [0.25, 0.125], std: [0.5, 0], kind: 'plot' });
    const titled = await sweepPlotWidget(points, { host, title: 'T' });
    expect(config(titled).title).to.equal('T');
    expect(snapshotSvg(titled).alt).to.equal('T');
    expect(snapshotSvg(titled).svg).to.include('>T</text>');
    expect(await stdoutOf(() => showSweepPlot(points, { host, transport: 'websocket' }))).to.equal('[ganvas] HTML output is shown in notebooks only\n');
  });

  const series: GridCurveSeries[] = [
    {
      name: 'A & B',
      points: [
        { grid: 4, mean: 0.5, std: 0.1, imageStd: 0.25, runs: [0.4, 0.6], images: 8 },
        { grid: 0, mean: 0.9, std: 0, imageStd: 0.05, runs: [0.9, 0.9], images: 8 },
      ],
    },
    { name: 'C', points: [{ grid: 2, mean: 0.7, std: 0.2, imageStd: 0.125, runs: [0.5, 0.9], images: 4 }] },
  ];

  it('gridCurveSvg: grids of every series sorted and evenly spaced; a 5% margin above hi and below lo; band, line, dots with tooltips, legend', () => {
    const svg = gridCurveSvg(series);
    // Height 280 + 14 per series; plot area x 55 … 445, y 30 … 220. lo = 0.4, hi = 0.9, pad 0.025.
    expect(svg).to.match(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="460" height="308" font-family="sans-serif">/);
    const x = (k: number) => 55 + (390 * (k + 0.5)) / 3;
    const y = (v: number) => 30 + 190 * (1 - (v - 0.375) / 0.55);
    clean(svg);
    const t = texts(svg);
    expect(t[0]).to.deep.equal({ a: { x: '230', y: '18', 'text-anchor': 'middle', 'font-size': '13' }, t: 'inversion cosine vs grid size (paper 000, Fig. 9)' });
    expect(elements(svg, 'line')).to.deep.equal([
      { x1: '55', y1: '220', x2: '445', y2: '220', stroke: '#444' },
      { x1: '55', y1: '30', x2: '55', y2: '220', stroke: '#444' },
    ]);
    expect(t.slice(1, 4).map((e) => [e.t, num(e.a.x)])).to.deep.equal([['0.400', 51], ['0.650', 51], ['0.900', 51]]);
    t.slice(1, 4).forEach((e, i) => expect(num(e.a.y)).to.be.closeTo(y([0.4, 0.65, 0.9][i]) + 4, 1e-9));
    const ticks = t.filter((e) => e.a.y === '236');
    expect(ticks.map((e) => e.t)).to.deep.equal(['0', '2', '4']);
    ticks.forEach((e, k) => expect(num(e.a.x)).to.be.closeTo(x(k), 1e-9));
    expect(t.find((e) => e.a.y === '252')).to.deep.equal({ a: { x: '230', y: '252', 'text-anchor': 'middle', 'font-size': '11' }, t: 'grid size g (0 = one vector)' });
    const bands = elements(svg, 'polygon');
    expect(bands.map((b) => [b.fill, b['fill-opacity'], b.stroke])).to.deep.equal([['#1f77b4', '0.2', 'none'], ['#d62728', '0.2', 'none']]);
    // Series A sorted by g (0, 4): upper edge left to right, lower edge back.
    const a = bands[0].points.split(' ').map((p) => p.split(',').map(Number));
    const want = [[x(0), y(0.9)], [x(2), y(0.6)], [x(2), y(0.4)], [x(0), y(0.9)]];
    expect(a).to.have.length(4);
    a.forEach((p, i) => {
      expect(p[0]).to.be.closeTo(want[i][0], 1e-9);
      expect(p[1]).to.be.closeTo(want[i][1], 1e-9);
    });
    const lines = elements(svg, 'polyline');
    expect(lines.map((l) => [l.stroke, l['stroke-width'], l.points.split(' ').length])).to.deep.equal([['#1f77b4', '1.5', 2], ['#d62728', '1.5', 1]]);
    const line = lines[0].points.split(' ').map((p) => p.split(',').map(Number));
    [[x(0), y(0.9)], [x(2), y(0.5)]].forEach(([px, py], i) => {
      expect(line[i][0]).to.be.closeTo(px, 1e-9);
      expect(line[i][1]).to.be.closeTo(py, 1e-9);
    });
    const dots = [...svg.matchAll(/<circle cx="([^"]+)" cy="([^"]+)" r="3\.5" fill="([^"]+)"><title>([^<]*)<\/title><\/circle>/g)];
    expect(dots.map((d) => d[4])).to.deep.equal([
      'A &amp; B: g = 0: cosine 0.9000 ± 0.0000 (std over 2 runs; runs 0.9000, 0.9000; 8 images, image std 0.050)',
      'A &amp; B: g = 4: cosine 0.5000 ± 0.1000 (std over 2 runs; runs 0.4000, 0.6000; 8 images, image std 0.250)',
      'C: g = 2: cosine 0.7000 ± 0.2000 (std over 2 runs; runs 0.5000, 0.9000; 4 images, image std 0.125)',
    ]);
    expect(num(dots[2][1])).to.be.closeTo(x(1), 1e-9);
    expect(num(dots[2][2])).to.be.closeTo(y(0.7), 1e-9);
    // Legend rows at 280 − 2 + 14·i.
    expect(elements(svg, 'rect').map((r) => [r.x, r.y, r.fill])).to.deep.equal([['55', '270', '#1f77b4'], ['55', '284', '#d62728']]);
    expect(t.filter((e) => e.a.x === '71').map((e) => [e.t, e.a.y])).to.deep.equal([['A &amp; B', '278'], ['C', '292']]);
    // The input's order is left alone.
    expect(series[0].points.map((p) => p.grid)).to.deep.equal([4, 0]);
    // The top of the scale is the highest band top (mean + std), here 0.5 + 0.25 above the other mean 0.6.
    const band = gridCurveSvg([{ name: 'a', points: [{ grid: 1, mean: 0.5, std: 0.25, imageStd: 0, runs: [], images: 0 }, { grid: 2, mean: 0.6, std: 0, imageStd: 0, runs: [], images: 0 }] }]);
    expect(texts(band).slice(1, 4).map((e) => e.t)).to.deep.equal(['0.250', '0.500', '0.750']);
    expect(throwsGanvas(() => gridCurveSvg([null as never]), 'BAD_INPUT').message).to.equal('series "undefined" needs at least one point');
  });

  it('gridCurveSvg: colours cycle after five series; a flat curve is drawn without NaN', () => {
    const flat = Array.from({ length: 6 }, (_, i) => ({ name: `s${i}`, points: [{ grid: 1, mean: 0.5, std: 0, imageStd: 0, runs: [0.5], images: 1 }] }));
    const svg = gridCurveSvg(flat, 'flat');
    expect(svg).to.not.include('NaN');
    expect(elements(svg, 'rect').map((r) => r.fill)).to.deep.equal(['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#1f77b4']);
    // lo = hi = 0.5, pad 0.05 (5% of 1): the point sits mid-height, 30 + 190/2.
    for (const c of elements(svg, 'circle')) expect(num(c.cy)).to.be.closeTo(125, 1e-9);
    expect(svg).to.include(`height="${280 + 14 * 6}"`);
  });

  it('the Fig. 9 widget: config with series sorted by g and hover texts; with `forward`, both plots side by side', async () => {
    const html = await gridCurvePlotWidget(series, { host });
    expect(snapshotSvg(html)).to.deep.equal({ svg: gridCurveSvg(series), alt: 'inversion cosine vs grid size (paper 000, Fig. 9)', width: '460' });
    const cfg = config(html);
    expect(cfg).to.deep.include({ title: 'inversion cosine vs grid size (paper 000, Fig. 9)', x: [], mean: [], std: [], yTitle: 'cos(mean F_Y(G_X(a)), y)' });
    const s = cfg.series as { name: string; x: string[]; mean: number[]; std: number[]; hover: string[] }[];
    expect(s.map((e) => [e.name, e.x, e.mean, e.std])).to.deep.equal([['A & B', ['0', '4'], [0.9, 0.5], [0, 0.1]], ['C', ['2'], [0.7], [0.2]]]);
    expect(s[1].hover).to.deep.equal(['g = 2: cosine 0.7000 ± 0.2000 (std over 2 runs; runs 0.5000, 0.9000; 4 images, image std 0.125)']);
    expect(config(await gridCurvePlotWidget(series, { host, title: 'mine' })).title).to.equal('mine');
    expect(await stdoutOf(() => showGridCurvePlot(series, { host, transport: 'websocket' }))).to.equal('[ganvas] HTML output is shown in notebooks only\n');
    expect(await stdoutOf(() => showGridCurvePlot(series, { host, transport: 'websocket', forward: [{ grid: 1, mean: 0.5, std: 0.1 }] }))).to.equal('[ganvas] HTML output is shown in notebooks only\n');
  });
});

describe('widget parts: line plots', function () {
  this.timeout(60_000);

  it('refuses no series, a series that is no object, unequal x and y, non-finite x and y', () => {
    for (const bad of [[], undefined, 'x']) expect(throwsGanvas(() => linePlotSvg(bad as never), 'BAD_INPUT').message).to.equal('a line plot needs at least one series');
    expect(throwsGanvas(() => linePlotSvg([null as never]), 'BAD_INPUT').message).to.equal('series "undefined" must have x and y arrays of the same length');
    expect(throwsGanvas(() => linePlotSvg([{ name: 'a', x: 'no' as never, y: [] }])).message).to.equal('series "a" must have x and y arrays of the same length');
    expect(throwsGanvas(() => linePlotSvg([{ name: 'a', x: [], y: 'no' as never }])).message).to.equal('series "a" must have x and y arrays of the same length');
    expect(throwsGanvas(() => linePlotSvg([{ name: 'b', x: [1], y: [1, 2] }])).message).to.equal('series "b" must have x and y arrays of the same length');
    expect(throwsGanvas(() => linePlotSvg([{ name: 'c', x: [1, Infinity], y: [1, 2] }]), 'BAD_INPUT').message).to.equal('series "c": x holds Infinity, expected finite numbers');
    expect(throwsGanvas(() => linePlotSvg([{ name: 'd', x: [1, 2], y: [null, NaN] }]), 'BAD_INPUT').message).to.equal('series "d": y holds NaN, expected finite numbers or null (a gap)');
    expect(linePlotSvg([{ name: 'e', x: [1, 2], y: [null, 3] }])).to.match(/^<svg/);
    expect(throwsGanvas(() => linePlotSvg([{ x: [1], y: [1] } as never]), 'BAD_INPUT').message).to.equal('a series needs a name (a string), got undefined');
    expect(throwsGanvas(() => linePlotSvg([{ name: 'a', x: [1], y: [1] }, { name: 5, x: [1], y: [1] } as never]), 'BAD_INPUT').message).to.equal('a series needs a name (a string), got number');
    expect(linePlotSvg([{ name: '', x: [1], y: [1] }]), 'an empty name is a name').to.match(/^<svg/);
  });

  it('lays out by hand: x spans the plot, y padded 6% each way, 5 value labels, a tick per x (≤ 7 values), the legend right', () => {
    // Names ≤ 8 characters: legend 90 wide (40 + ⌈6.2·8⌉ = 90), W = 440; plot x 56 … 350, y 30 … 256.
    // y 0 … 1 padded by 0.06: −0.06 … 1.06.
    const svg = linePlotSvg([{ name: 'abcdefgh', x: [0, 10, 20], y: [0, 1, 0.5] }], { title: 'T<', xLabel: 'X&', yLabel: 'Y"' });
    expect(svg).to.match(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="440" height="300" font-family="sans-serif">/);
    const px = (v: number) => 56 + (294 * v) / 20;
    const py = (v: number) => 30 + 226 * (1 - (v + 0.06) / 1.12);
    const dots = elements(svg, 'circle');
    expect(dots.map((d) => [d.cx, d.cy, d.r, d.fill])).to.deep.equal([0, 10, 20].map((x, i) => [px(x).toFixed(1), py([0, 1, 0.5][i]).toFixed(1), '3', '#1f77b4']));
    expect(elements(svg, 'polyline')[0].points).to.equal([0, 10, 20].map((x, i) => `${px(x).toFixed(1)},${py([0, 1, 0.5][i]).toFixed(1)}`).join(' '));
    const t = texts(svg);
    expect(t[0]).to.deep.equal({ a: { x: '203', y: '18', 'text-anchor': 'middle', 'font-size': '13' }, t: 'T&lt;' });
    // Value labels at −0.06, 0.22, 0.5, 0.78, 1.06 (3 significant digits).
    const labels = t.filter((e) => e.a['text-anchor'] === 'end');
    expect(labels.map((e) => e.t)).to.deep.equal(['-0.06', '0.22', '0.5', '0.78', '1.06']);
    labels.forEach((e, i) => expect(num(e.a.y)).to.be.closeTo(py(-0.06 + 0.28 * i) + 4, 1e-9));
    const ticks = t.filter((e) => e.a.y === '271');
    expect(ticks.map((e) => [e.t, num(e.a.x)])).to.deep.equal([['0', px(0)], ['10', px(10)], ['20', px(20)]]);
    expect(labels.map((e) => e.a.x)).to.deep.equal(['52', '52', '52', '52', '52']);
    clean(svg);
    expect(t.find((e) => e.t === 'X&amp;')?.a).to.deep.equal({ x: '203', y: '292', 'text-anchor': 'middle', 'font-size': '11' });
    expect(svg).to.include('<text transform="translate(13 143) rotate(-90)" text-anchor="middle" font-size="11">Y&quot;</text>');
    expect(elements(svg, 'line').at(-1)).to.deep.equal({ x1: '360', y1: '38', x2: '376', y2: '38', stroke: '#1f77b4', 'stroke-width': '2' });
    expect(t.at(-1)).to.deep.equal({ a: { x: '380', y: '42', 'font-size': '11' }, t: 'abcdefgh' });
    // Axes.
    expect(elements(svg, 'line').slice(0, 2)).to.deep.equal([
      { x1: '56', y1: '256', x2: '350', y2: '256', stroke: '#444' },
      { x1: '56', y1: '30', x2: '56', y2: '256', stroke: '#444' },
    ]);
  });

  it('a long name widens the legend; more than 7 x values get 5 even ticks; xTicks choose; no title or labels without options', () => {
    const long = 'n'.repeat(21); // 40 + ⌈130.2⌉ = 171
    const xs = Array.from({ length: 9 }, (_, i) => i * 2.5); // 0 … 20
    const svg = linePlotSvg([{ name: long, x: xs, y: xs.map((x) => x * 1000) }]);
    expect(svg).to.include('width="521"');
    // 9 characters: 40 + ⌈55.8⌉ = 96, W = 446.
    expect(linePlotSvg([{ name: 'n'.repeat(9), x: [0], y: [0] }])).to.include('width="446"');
    const t = texts(svg);
    expect(t.filter((e) => e.a.y === '271').map((e) => e.t)).to.deep.equal(['0', '5', '10', '15', '20']);
    // Values ≥ 1000 print rounded: −1200 … 21200 in four steps of 5600.
    expect(t.filter((e) => e.a['text-anchor'] === 'end').map((e) => e.t)).to.deep.equal(['-1200', '4400', '10000', '15600', '21200']);
    expect(t.filter((e) => e.a['font-size'] === '13' || e.a.y === '292')).to.deep.equal([]);
    expect(svg).to.not.include('rotate(-90)');
    const chosen = linePlotSvg([{ name: 'a', x: xs, y: xs }], { xTicks: [2.5, 7.25] });
    expect(texts(chosen).filter((e) => e.a.y === '271').map((e) => e.t)).to.deep.equal(['2.5', '7.25']);
    // Labels: 3 significant digits below 1000 in size, whole numbers (rounded half up) from 1000 on, negative too.
    const big = linePlotSvg([{ name: 'a', x: xs, y: xs }], { xTicks: [-1234.5, -999.5, 12.345, 1234.5] });
    expect(texts(big).filter((e) => e.a.y === '271').map((e) => e.t)).to.deep.equal(['-1234', '-1000', '12.3', '1235']);
    // x from 10 to 30: the first at the left axis, the middle mid-plot; 9 values: ticks 10, 15, … 30.
    const shifted = linePlotSvg([{ name: 'a', x: [10, 20, 30], y: [0, 1, 2] }, { name: long, x: [12.5, 15, 17.5, 22.5, 25, 27.5], y: [1, 1, 1, 1, 1, 1] }]);
    expect(shifted, 'the longest name sets the legend').to.include('width="521"');
    const sdots = elements(shifted, 'circle');
    expect(sdots.slice(0, 3).map((d) => d.cx), 'plot area 56 … 350 whatever the legend').to.deep.equal(['56.0', '203.0', '350.0']);
    expect(texts(shifted).filter((e) => e.a.y === '271').map((e) => e.t)).to.deep.equal(['10', '15', '20', '25', '30']);
    // The second legend row 16 px below the first.
    expect(elements(shifted, 'line').slice(2).map((l) => l.y1)).to.deep.equal(['38', '54']);
    // Exactly 7 distinct x values still get one tick each (duplicates count once, sorted).
    const seven = linePlotSvg([{ name: 'a', x: [6, 5, 4, 3, 2, 1, 0], y: [0, 0, 0, 0, 0, 0, 1] }, { name: 'b', x: [0, 6], y: [1, 1] }]);
    expect(texts(seven).filter((e) => e.a.y === '271').map((e) => e.t)).to.deep.equal(['0', '1', '2', '3', '4', '5', '6']);
  });

  it('null splits a line into runs (a lone point keeps its dot, no line); constant and missing y get a range; one x sits mid-plot', () => {
    const svg = linePlotSvg([
      { name: 'a', x: [0, 1, 2, 3, 4, 5], y: [1, 2, null, 3, null, 4] },
      { name: 'b', x: [0, 5], y: [null, null] },
    ]);
    const polys = elements(svg, 'polyline');
    expect(polys).to.have.length(1);
    expect(polys[0].points.split(' ')).to.have.length(2);
    expect(elements(svg, 'circle')).to.have.length(4);
    expect(elements(svg, 'circle').map((c) => c.fill)).to.deep.equal(['#1f77b4', '#1f77b4', '#1f77b4', '#1f77b4']);
    expect(elements(svg, 'line').slice(2).map((l) => l.stroke)).to.deep.equal(['#1f77b4', '#ff7f0e']);
    // Constant y = 2: the range 1.5 … 2.5, padded 0.06: the dots mid-height (30 + 226/2 = 143).
    const flat = linePlotSvg([{ name: 'a', x: [3], y: [2] }]);
    const [dot] = elements(flat, 'circle');
    // One x value: x mid-plot (56 + 294/2 = 203).
    expect([dot.cx, dot.cy]).to.deep.equal(['203.0', '143.0']);
    expect(texts(flat).filter((e) => e.a['text-anchor'] === 'end').map((e) => e.t)).to.deep.equal(['1.44', '1.72', '2', '2.28', '2.56']);
    // Nothing but gaps: y 0 … 1 (padded 0.06).
    const empty = linePlotSvg([{ name: 'a', x: [0, 1], y: [null, null] }]);
    expect(texts(empty).filter((e) => e.a['text-anchor'] === 'end').map((e) => e.t)).to.deep.equal(['-0.06', '0.22', '0.5', '0.78', '1.06']);
    // Ten series: the colour cycle wraps to the first.
    const ten = linePlotSvg(Array.from({ length: 11 }, (_, i) => ({ name: `s${i}`, x: [0], y: [i] })));
    expect(elements(ten, 'circle').map((c) => c.fill)).to.deep.equal(['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf', '#1f77b4']);
    // Spread below 1e-9 counts as constant.
    const tiny = linePlotSvg([{ name: 'a', x: [0, 1], y: [1, 1 + 1e-12] }]);
    expect(texts(tiny).filter((e) => e.a['text-anchor'] === 'end').map((e) => e.t)[0]).to.equal('0.44');
    // A spread of exactly 1e-9 is kept (padded by 6%: from −6e-11).
    const edge = linePlotSvg([{ name: 'a', x: [0, 1], y: [0, 1e-9] }]);
    expect(texts(edge).filter((e) => e.a['text-anchor'] === 'end').map((e) => e.t)[0]).to.equal('-6e-11');
  });

  it('the line plot widget: snapshot, config (defaults: empty strings, null ticks), shown outside a notebook as a note', async () => {
    const host = new WidgetHost();
    try {
      const s = [{ name: 'a', x: [0, 1], y: [1, null] }];
      const html = await linePlotWidget(s, { host });
      expect(snapshotSvg(html)).to.deep.equal({ svg: linePlotSvg(s), alt: 'line plot', width: '440' });
      expect(config(html)).to.deep.include({ kind: 'lines', title: '', xLabel: '', yLabel: '', xTicks: null, series: [{ name: 'a', x: [0, 1], y: [1, null] }] });
      const full = await linePlotWidget([{ name: 'a', x: [0, 1], y: [1, 2], extra: 1 } as never], { host, title: 'T', xLabel: 'X', yLabel: 'Y', xTicks: [0] });
      expect(config(full)).to.deep.include({ title: 'T', xLabel: 'X', yLabel: 'Y', xTicks: [0], series: [{ name: 'a', x: [0, 1], y: [1, 2] }] });
      expect(snapshotSvg(full).alt).to.equal('T');
      expect(config(full).http).to.equal((await host.server()).url);
      expect(await stdoutOf(() => showLinePlot(s, { host }))).to.equal('[ganvas] HTML output is shown in notebooks only\n');
      expect(() => linePlotSvg([])).to.throw(GanvasError);
      await rejectsGanvas(linePlotWidget([], { host }), 'BAD_INPUT');
    } finally {
      await host.close();
    }
  });
});
