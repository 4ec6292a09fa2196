/**
 * Reverse-mode autodiff for ONNX graphs (issue 7). onnxruntime only runs forward graphs, so ganvas writes a
 * second ONNX graph — forward, loss and backward together — that onnxruntime runs at native speed:
 *
 * ```ts
 * const { model } = await openModel('models/fmnist-stylegan');
 * const s = await split(model, 'b16.conv1');                     // variables at a cut: the tail's layer input
 * const gm = await gradientModel(s.tail, {
 *   wrt: [s.layer.name],
 *   loss: loss.mse('img', loss.feed('target')),                 // a target image fed at run time
 * });
 * const session = await rt.session(gm);                          // outputs: loss, grad_<name> per variable
 * const v = new Variable(h.data, new Adam({ lr: 0.05 }));
 * for (let i = 0; i < 100; i++) {
 *   const r = await lossAndGradients(session, { ...tailFeeds, [s.layer.name]: { data: v.value, dims: h.dims }, target });
 *   v.step(r.grads[s.layer.name].data);
 * }
 * ```
 *
 * Gradient rules live one per op (or family) under ops/ and register themselves (registerGradient); the engine
 * applies them only along paths from the variables to the loss, and names the op and node when one is missing.
 */
export { gradientModel, lossAndGradients, GradientOptions, LossAndGradients, LOSS_OUTPUT, gradName } from './gradient';
export { loss, LossExpr, LossSpec } from './loss';
export { registerGradient, registeredOps, GradientRule, GradContext } from './registry';
export { Emitter, Attr, Attrs } from './emit';
export { ConstValue } from './constants';
export {
  Adam,
  AdamOptions,
  AdamState,
  GradientDescent,
  Optimizer,
  Parameterization,
  Variable,
  identity as identityParam,
  sigmoid as sigmoidParam,
} from './optim';
