/**
 * Every TypeScript block of README.md runs as written (issue 16: a snippet that names a missing file or variable
 * fails here). Each block runs in its own Node process, in a fresh temporary directory (blocks write files such as
 * my-stitch.json), with `import * as g from 'ganvas'` as the package's require and top-level await inside an async
 * function — what tslab does with a notebook cell.
 */
import { expect } from 'chai';
import { execFile } from 'child_process';
import { promises as fs, readFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';

const README = path.join(__dirname, '..', '..', 'README.md');

function tsBlocks(markdown: string): string[] {
  const out: string[] = [];
  const re = /```ts\n([\s\S]*?)```/g;
  for (let m = re.exec(markdown); m; m = re.exec(markdown)) out.push(m[1]);
  return out;
}

describe('README', function () {
  this.timeout(600000);
  const blocks = tsBlocks(readFileSync(README, 'utf8'));

  it('has TypeScript examples', () => {
    expect(blocks.length).to.be.greaterThan(2);
  });

  blocks.forEach((block, i) => {
    const first = block.split('\n').find((l) => l.trim() !== '' && !l.startsWith('import')) ?? '';
    it(`smoke: block ${i + 1} runs as written: ${first.slice(0, 70)}`, async () => {
      expect(block, 'every block imports ganvas itself, as a fresh notebook would').to.include("import * as g from 'ganvas';");
      const body = block.replace("import * as g from 'ganvas';", `const g = require(${JSON.stringify(require.resolve('ganvas'))});`);
      // Declarations must survive into the check that follows: wrap the block and report that it ended.
      const program = `(async () => {\n${body}\n})().then(() => console.log('README-BLOCK-OK'), (e) => { console.error(e); process.exit(1); });`;
      const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ganvas-readme-'));
      const out = await new Promise<string>((resolve, reject) => {
        execFile(process.execPath, ['-e', program], { cwd: dir, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
          if (err) reject(new Error(`README block ${i + 1} failed:\n${block}\n${stderr.slice(-3000)}`));
          else resolve(stdout);
        });
      });
      expect(out).to.include('README-BLOCK-OK');
    });
  });
});
