// Validates every External Secrets Operator object of a rendered manifest (stdin or the files
// named) against ESO's own CRD schemas, as kubernetes-models packages them. Exit 1 on the first
// invalid object, naming it and the schema's complaint.
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

const files = process.argv.slice(2);
const text = files.length ? files.map((f) => readFileSync(f, "utf8")).join("\n---\n") : readFileSync(0, "utf8");
let checked = 0;
for (const document of parseAllDocuments(text)) {
  const object = document.toJS();
  if (!object?.apiVersion?.startsWith("external-secrets.io/")) continue;
  const version = object.apiVersion.split("/")[1];
  let model;
  try {
    model = await import(`@kubernetes-models/external-secrets/external-secrets.io/${version}/${object.kind}`);
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
  checked += 1;
}
if (checked === 0) {
  console.error("no External Secrets Operator object found");
  process.exit(1);
}
console.log(`${checked} External Secrets Operator objects valid against ESO's schemas (@kubernetes-models/external-secrets)`);
