// Validates every object of the given CRD API groups in rendered manifests (stdin or the files
// named) against those CRDs' own schemas, as kubernetes-models packages them: objects of CRDs the
// API server CI starts does not have (External Secrets Operator's, prometheus-operator's). Exit 1
// on the first invalid object, naming it and the schema's complaint, or when none is found.
// Usage: node validate.mjs GROUP[,GROUP...] [FILE...]
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

const packages = {
  "external-secrets.io": "@kubernetes-models/external-secrets",
  "monitoring.coreos.com": "@kubernetes-models/prometheus-operator",
};
const [groupList, ...files] = process.argv.slice(2);
const groups = (groupList ?? "").split(",").filter(Boolean);
for (const group of groups) {
  if (!packages[group]) {
    console.error(`no schema package for API group ${group}: known are ${Object.keys(packages).join(", ")}`);
    process.exit(2);
  }
}
const text = files.length ? files.map((f) => readFileSync(f, "utf8")).join("\n---\n") : readFileSync(0, "utf8");
const checked = new Map();
for (const document of parseAllDocuments(text)) {
  const object = document.toJS();
  const [group, version] = (object?.apiVersion ?? "").split("/");
  if (!groups.includes(group)) continue;
  let model;
  try {
    model = await import(`${packages[group]}/${group}/${version}/${object.kind}`);
  } catch {
    console.error(`${object.kind} ${object.metadata?.name}: no schema for ${object.apiVersion} ${object.kind}`);
    process.exit(1);
  }
  try {
    new model[object.kind](object).validate();
  } catch (error) {
    console.error(`${object.kind} ${object.metadata?.name}: ${error.message}`);
    process.exit(1);
  }
  checked.set(group, (checked.get(group) ?? 0) + 1);
}
for (const group of groups) {
  if (!checked.get(group)) {
    console.error(`no ${group} object found`);
    process.exit(1);
  }
  console.log(`${checked.get(group)} ${group} objects valid against their CRDs' schemas (${packages[group]})`);
}
