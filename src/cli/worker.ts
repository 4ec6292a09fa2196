/**
 * A worker process of `ganvas <command> --workers N`: opens the command's models with its own onnxruntime
 * sessions, then computes the chunks the parent hands it, writing each chunk's result file itself (atomically).
 * It exits when the parent says so or when the parent is gone (its IPC channel closes, e.g. after kill -9).
 */
import { describeError } from '../errors';
import { writeFileAtomic } from '../io';
import { FromWorker, ToWorker, chunkFile } from './job';
import { taskFor } from './tasks';

function send(m: FromWorker): void {
  process.send?.(m);
}

let ctx: unknown;
let close: (() => Promise<void>) | undefined;
let chain: Promise<void> = Promise.resolve();
// Stryker disable next-line StringLiteral: set by "open", before any chunk can run
let workDir = '';

async function handle(m: ToWorker): Promise<void> {
  if (m.type === 'open') {
    const task = taskFor(m.command);
    workDir = m.workDir;
    ctx = await task.open(m.open, m.threads);
    close = () => task.close(ctx);
    const run = task.run.bind(task);
    runChunk = async (range) => {
      const result = await run(ctx, range, { workDir, onProgress: (done) => send({ type: 'progress', range, done }) });
      await writeFileAtomic(chunkFile(workDir, range), JSON.stringify(result));
    };
    send({ type: 'ready' });
    return;
  }
  if (m.type === 'chunk') {
    await runChunk(m.range);
    send({ type: 'done', range: m.range });
    return;
  }
  // Stryker disable next-line ConditionalExpression: the parent sends only open, chunk and close
  if (m.type === 'close') {
    await close?.();
    process.exit(0);
  }
}

let runChunk: (range: [number, number]) => Promise<void> = async () => {
  throw new Error('a chunk came before "open"');
};

process.on('message', (m: ToWorker) => {
  chain = chain.then(() => handle(m)).catch((e: unknown) => {
    send({ type: 'error', message: describeError(e), code: (e as { code?: string }).code });
    process.exitCode = 1;
    setTimeout(() => process.exit(1), 50);
  });
});
process.on('disconnect', () => process.exit(0));
