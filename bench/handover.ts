/**
 * What handing a tensor between two onnxruntime-node calls costs: the figure behind split's crossing cost
 * (src/onnx/split.ts, PER_TENSOR). Models of k parallel Relus, each reading one input and writing one output of
 * n floats, run through raw onnxruntime-node; the per-tensor and per-float costs come from the differences.
 *
 *   npm run bench:handover [-- --repeats 5000]
 */
import * as ort from 'onnxruntime-node';
import { GraphBuilder } from '../test/builder';
import { intArg, machine, median, table, timeInterleaved } from './util';

async function main(): Promise<void> {
  const repeats = intArg('repeats', 5000);
  const shapes: [number, number][] = [
    [1, 4],
    [8, 4],
    [1, 16384],
    [4, 16384],
  ];
  const runs: (() => Promise<unknown>)[] = [];
  for (const [k, n] of shapes) {
    const g = new GraphBuilder();
    const feeds: Record<string, ort.Tensor> = {};
    for (let i = 0; i < k; i++) {
      g.input(`x${i}`, [1, n]);
      g.node('Relu', [`x${i}`], `y${i}`);
      g.output(`y${i}`, [1, n]);
      feeds[`x${i}`] = new ort.Tensor('float32', new Float32Array(n).fill(1), [1, n]);
    }
    const s = await ort.InferenceSession.create(g.bytes(), { intraOpNumThreads: 1, interOpNumThreads: 1 });
    runs.push(() => s.run(feeds));
  }
  const times = (await timeInterleaved(runs, { repeats, warmup: 500 })).map((t) => median(t) * 1e3);
  const rows = shapes.map(([k, n], i) => [k, n, times[i]]);
  const perTensor = (times[1] - times[0]) / 7;
  const perFloat = ((times[3] - times[2]) / 3 - perTensor) / 16384;
  console.log(`bench/handover — raw onnxruntime-node, 1 thread; ${machine()}; medians of ${repeats} interleaved runs`);
  console.log(table(['tensors in = out', 'floats each', 'µs per call'], rows));
  console.log();
  console.log(
    table(
      ['per tensor (one in, one out)', 'per float handed over', 'floats worth one tensor'],
      [[`${perTensor.toFixed(2)} µs`, `${(perFloat * 1e3).toFixed(2)} ns`, Math.round(perTensor / perFloat)]],
    ),
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
