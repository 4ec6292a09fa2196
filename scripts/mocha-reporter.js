'use strict';
// mocha's spec reporter, plus one closing line in the plain form CI tools read: "N passed, N failed, N skipped".
const Mocha = require('mocha');

class GanvasReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
      const s = runner.stats;
      process.stdout.write(`\n${s.passes} passed, ${s.failures} failed, ${s.pending} skipped\n`);
    });
  }
}

module.exports = GanvasReporter;
