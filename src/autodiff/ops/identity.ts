/**
 * Ops that pass their (first) input through unchanged in inference: Identity, and Dropout (whose mask output is
 * not differentiable). Cast between float32 tensors is the same.
 */
import { registerGradient } from '../registry';

registerGradient({ op: 'Identity', grad: ({ dy }) => [dy[0]] });

registerGradient({
  op: 'Dropout',
  constInputs: [2],
  grad: (ctx) => {
    // From opset 12 training mode is an input; a graph exported for training drops units at random.
    if (ctx.x[2]) {
      const t = ctx.constValue(2);
      // Stryker disable next-line MethodExpression: training_mode is a scalar: some and every agree
      if (!t || t.data.some((v) => v !== 0)) throw ctx.fail('Dropout in training mode is not supported; export the model in eval mode');
    }
    return [ctx.dy[0]];
  },
});

registerGradient({
  op: 'Cast',
  grad: (ctx) => {
    // The engine only asks for a gradient when the input is float32; the output must be float32 too.
    // Stryker disable next-line ConditionalExpression,StringLiteral: unreachable — a Cast to another type ends the varying path (only float32 tensors vary), so no gradient reaches it
    if (ctx.attrInt('to', 0) !== 1) throw ctx.fail('a Cast to a non-float32 type has no gradient');
    return [ctx.dy[0]];
  },
});
