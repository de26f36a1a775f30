// Validates Argo CD Applications with @kubernetes-models/argo-cd, whose JSON schemas are
// generated from Argo CD's own Go types (github.com/argoproj/argo-cd/v3
// pkg/apis/application/v1alpha1). Reads a JSON list of objects on stdin; prints a JSON list
// of [index, errors] for each object that fails, and `[]` when all pass.
import { Application } from "@kubernetes-models/argo-cd/argoproj.io/v1alpha1/Application";

const input = JSON.parse(await new Promise((resolve) => {
  let text = "";
  process.stdin.on("data", (chunk) => { text += chunk; });
  process.stdin.on("end", () => resolve(text));
}));
const failures = [];
input.forEach((object, index) => {
  try {
    new Application(object).validate();
  } catch (error) {
    failures.push([index, String(error.message ?? error)]);
  }
});
console.log(JSON.stringify(failures));
