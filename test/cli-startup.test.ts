/**
 * What keeps the start-up of each `ganvas` process short (issue 17): probe results cached on disk by model digest
 * (and never trusted when stale or torn), onnxruntime threads that do not busy-wait (RuntimeOptions.spinning), and
 * subcommand modules loaded only for the subcommand that runs.
 */
import { expect } from 'chai';
import { execFileSync } from 'child_process';
import { createHash } from 'crypto';
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { GanvasError, Runtime, gaussian, probe } from 'ganvas';
import { GraphBuilder } from './builder';
import { CLI } from './cli-helpers';
import { throwsGanvas } from './util';

function model(): GraphBuilder {
  const g = new GraphBuilder();
  const x = g.input('x', ['N', 2, 6, 6]);
  const h = g.node('Relu', [g.conv(x, 2, 3)], 'h');
  g.output(g.conv(h, 3, 1, 'y'), ['N', 1, 6, 6]);
  return g;
}

async function withCache<T>(env: Record<string, string>, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ganvas-probe-cache-'));
  const saved = Object.fromEntries(['GANVAS_CACHE', 'GANVAS_PROBE_CACHE'].map((k) => [k, process.env[k]]));
  process.env.GANVAS_CACHE = dir;
  Object.assign(process.env, env);
  try {
    return await fn(dir);
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    await fs.rm(dir, { recursive: true, force: true });
  }
}

describe('ganvas start-up: probe cache, thread spinning, lazy subcommands', function () {
  this.timeout(120000);
  const g = model();

  it('a probe is kept on disk by model digest and read by the next probe of the same bytes', async () => {
    await withCache({}, async (dir) => {
      const first = await probe(g.build('a.onnx'));
      expect([...first.tensors.keys()]).to.include.members(['x', 'h', 'y']);
      expect(first.tensors.get('h')?.dims).to.deep.equal(['N', 3, 6, 6]);
      const files = await fs.readdir(path.join(dir, 'probe'));
      expect(files).to.have.length(1);
      const file = path.join(dir, 'probe', files[0]);
      // Another object with the same bytes reads the file: a marked (still valid) file shows that it was read.
      const stored = JSON.parse(await fs.readFile(file, 'utf8'));
      expect(stored.tensors).to.deep.equal([...first.tensors.values()]);
      await fs.writeFile(file, JSON.stringify({ ...stored, batchSymbol: 'FROM_CACHE' }));
      const again = await probe(g.build('b.onnx'));
      expect(again.batchSymbol).to.equal('FROM_CACHE');
      expect([...again.tensors.entries()]).to.deep.equal([...first.tensors.entries()]);
    });
  });

  it('a torn, foreign or other-onnxruntime cache file is ignored and rewritten; GANVAS_PROBE_CACHE=0 writes none', async () => {
    await withCache({}, async (dir) => {
      const truth = await probe(g.build('c.onnx'));
      const file = path.join(dir, 'probe', (await fs.readdir(path.join(dir, 'probe')))[0]);
      const good = await fs.readFile(file, 'utf8');
      for (const bad of ['{"format":"ganvas-probe/1","onn', JSON.stringify({ ...JSON.parse(good), onnxruntime: '0.0.1', batchSymbol: 'OLD' }), '[1,2,3]']) {
        await fs.writeFile(file, bad);
        const r = await probe(g.build('d.onnx'));
        expect(r.batchSymbol).to.equal(truth.batchSymbol);
        expect([...r.tensors.entries()]).to.deep.equal([...truth.tensors.entries()]);
        expect(JSON.parse(await fs.readFile(file, 'utf8'))).to.deep.equal(JSON.parse(good));
      }
    });
    await withCache({ GANVAS_PROBE_CACHE: '0' }, async (dir) => {
      expect((await probe(g.build('e.onnx'))).tensors.get('y')?.dims).to.deep.equal(['N', 1, 6, 6]);
      expect(await fs.readdir(dir)).to.deep.equal([]);
    });
  });

  it('a cache directory that cannot be written costs only the cache', async () => {
    await withCache({}, async (dir) => {
      const blocker = path.join(dir, 'not-a-dir');
      await fs.writeFile(blocker, '');
      process.env.GANVAS_CACHE = blocker;
      expect((await probe(g.build('f.onnx'))).tensors.get('h')?.dims).to.deep.equal(['N', 3, 6, 6]);
    });
  });

  it('spinning: false gives the same numbers; a non-boolean is refused', async () => {
    const m = g.build('spin.onnx');
    const x = { data: gaussian('spin-x', 4 * 2 * 36), dims: [4, 2, 6, 6] };
    const spin = new Runtime({ threads: 2 });
    const calm = new Runtime({ threads: 2, spinning: false });
    try {
      const a = (await (await spin.session(m)).run({ x }))['y'];
      const b = (await (await calm.session(m)).run({ x }))['y'];
      expect(Array.from(b.data)).to.deep.equal(Array.from(a.data));
    } finally {
      await spin.release();
      await calm.release();
    }
    expect(throwsGanvas(() => new Runtime({ spinning: 'no' as unknown as boolean }), 'BAD_INPUT').message).to.match(/spinning must be true or false, got "no"/);
  });

  it('memPattern: false gives the same numbers, run after run; a non-boolean is refused', async () => {
    const m = g.build('pattern.onnx');
    const x = { data: gaussian('pattern-x', 4 * 2 * 36), dims: [4, 2, 6, 6] };
    const planned = new Runtime({ threads: 1 });
    const plain = new Runtime({ threads: 1, memPattern: false });
    try {
      // The pattern is planned on the first run and used from the second: compare both.
      for (let run = 0; run < 3; run++) {
        const a = (await (await planned.session(m)).run({ x }))['y'];
        const b = (await (await plain.session(m)).run({ x }))['y'];
        expect(Array.from(b.data), `run ${run}`).to.deep.equal(Array.from(a.data));
      }
    } finally {
      await planned.release();
      await plain.release();
    }
    expect(throwsGanvas(() => new Runtime({ memPattern: 1 as unknown as boolean }), 'BAD_INPUT').message).to.match(/memPattern must be true or false, got 1/);
  });

  it('file digests: read whole up to 64 MiB, streamed beyond, the same SHA-256 either way; a missing file is refused', async () => {
    const { fileDigest } = require(path.join(path.dirname(CLI), 'job.js')) as { fileDigest: (f: string) => Promise<string> };
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ganvas-digest-'));
    try {
      for (const [name, size] of [['small.bin', 3000], ['big.bin', 64 * 1024 * 1024 + 5]] as const) {
        const bytes = Buffer.alloc(size);
        for (let i = 0; i < size; i += 4096) bytes[i] = (i / 4096) % 251;
        bytes[size - 1] = 7;
        const file = path.join(dir, name);
        await fs.writeFile(file, bytes);
        expect(await fileDigest(file), name).to.equal(createHash('sha256').update(bytes).digest('hex'));
      }
      const err = await fileDigest(path.join(dir, 'absent.bin')).then(() => undefined, (e: unknown) => e);
      expect(err).to.be.instanceOf(GanvasError);
      expect((err as GanvasError).code).to.equal('BAD_INPUT');
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('a subcommand loads its own modules only; --help still lists every command', () => {
    const loaded = (cmd: string): string[] =>
      JSON.parse(
        execFileSync(process.execPath, ['-e', `const m = require(${JSON.stringify(CLI)}); m.program(['node', 'ganvas', ${JSON.stringify(cmd)}]);` +
          `console.log(JSON.stringify(Object.keys(require.cache).map((f) => f.replace(/\\\\/g, '/'))))`], { encoding: 'utf8' }),
      ) as string[];
    const merge = loaded('merge');
    expect(merge.some((f) => f.endsWith('/cli/merge.js'))).to.equal(true);
    expect(merge.filter((f) => /\/cli\/(scan|dataset|invert|extra)\.js$|\/onnxruntime-node\/|\/onnx-proto\/|\/manifest\.js$/.test(f)), 'merge loads no model code').to.deep.equal([]);
    const scanMods = loaded('scan');
    expect(scanMods.some((f) => f.endsWith('/cli/scan.js'))).to.equal(true);
    expect(scanMods.filter((f) => /\/cli\/(dataset|invert|extra)\.js$/.test(f))).to.deep.equal([]);
    const help = execFileSync(process.execPath, [CLI, '--help'], { encoding: 'utf8' });
    for (const c of ['scan', 'dataset', 'invert', 'merge', 'grid-inversion', 'stitch-train']) expect(help).to.match(new RegExp(`^  ${c} `, 'm'));
  });
});
