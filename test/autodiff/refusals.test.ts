/**
 * Gradient rules refuse what they do not handle with a GanvasError naming the attribute (issue 19: the Resize
 * rule's refusals were untested, so a rule that silently differentiated cubic or antialiased resizing as nearest
 * would have passed).
 */
import { expect } from 'chai';
import { GanvasError, gradientModel } from 'ganvas';
import { GraphBuilder } from '../builder';

async function refusal(build: (g: GraphBuilder) => void, opset = 13): Promise<string> {
  const g = new GraphBuilder(opset);
  g.input('x', ['N', 2, 3, 4]);
  build(g);
  g.output('y');
  try {
    await gradientModel(g.build('refusal'), { wrt: ['x'], loss: 'y' });
  } catch (e) {
    expect(e).to.be.instanceOf(GanvasError);
    return (e as Error).message;
  }
  throw new Error('expected a GanvasError');
}

describe('autodiff rules: refusals', () => {
  it('Resize: cubic mode, antialias, the axes attribute', async () => {
    const scales = (g: GraphBuilder) => g.init('sc', [4], [1, 1, 2, 2]);
    expect(await refusal((g) => g.node('Resize', ['x', '', scales(g)], 'y', { mode: 'cubic' }))).to.include('mode "cubic" is not supported (nearest and linear are)');
    expect(await refusal((g) => g.node('Resize', ['x', '', scales(g)], 'y', { mode: 'linear', antialias: 1 }), 18)).to.include('antialias is not supported');
    expect(await refusal((g) => g.node('Resize', ['x', '', g.init('sc2', [2], [2, 2])], 'y', { mode: 'nearest', axes: [2, 3] }), 18)).to.include('the axes attribute is not supported');
  });
});
