/**
 * The child side of sandbox.ts: reads model bytes from stdin, probes them, exits 0 (fine), 3 (a GanvasError,
 * written to stdout as JSON) or dies trying (the parent reports the crash).
 */
import { GanvasError, describeError } from '../errors';
import { decodeModel } from './model';
import { probe } from './probe';

const chunks: Buffer[] = [];
process.stdin.on('data', (d: Buffer) => chunks.push(d));
process.stdin.on('end', () => {
  void (async () => {
    try {
      const model = decodeModel(Buffer.concat(chunks), process.argv[2]);
      await probe(model, { inputShapes: JSON.parse(process.argv[3] ?? '{}') });
      process.exit(0);
    } catch (e) {
      const code = e instanceof GanvasError ? e.code : 'RUNTIME';
      process.stdout.write(JSON.stringify({ code, message: describeError(e) }), () => process.exit(3));
    }
  })();
});
