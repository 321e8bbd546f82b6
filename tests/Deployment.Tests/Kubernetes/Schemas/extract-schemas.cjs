// Regenerates kubernetes-schemas.json, the JSON Schemas the manifest tests validate against, from the npm package
// kubernetes-models 3.1.0 (MIT), which carries the Kubernetes OpenAPI definitions (Apache-2.0) as plain JSON Schema
// objects, one per definition. Later major versions ship compiled validators instead of schemas, so 3.1.0 it is.
//
//   cd "$(mktemp -d)" && npm install kubernetes-models@3.1.0 && node <this file> > <repo>/tests/Deployment.Tests/Kubernetes/Schemas/kubernetes-schemas.json
//
// Only what the tests need is read: the kinds below and every definition they reference. Each definition becomes
// "$defs/<id>", its "<id>#" references "#/$defs/<id>", and "kinds" maps "apiVersion/kind" to the root definition.
"use strict";

const path = require("path");
// The package's exports hide this file; the schema modules reach the same instance through its index.
const ajv = require(path.join(process.cwd(), "node_modules/@kubernetes-models/validate/dist/ajv.js"));

// apiVersion/kind → the definition's id; its module is kubernetes-models/_schemas/IoK8s<id without dots, camel-cased>.
const kinds = {
  "v1/ConfigMap": "io.k8s.api.core.v1.ConfigMap",
  "v1/Secret": "io.k8s.api.core.v1.Secret",
  "v1/Service": "io.k8s.api.core.v1.Service",
  "v1/PersistentVolumeClaim": "io.k8s.api.core.v1.PersistentVolumeClaim",
  "v1/ServiceAccount": "io.k8s.api.core.v1.ServiceAccount",
  "apps/v1/Deployment": "io.k8s.api.apps.v1.Deployment",
  "batch/v1/Job": "io.k8s.api.batch.v1.Job",
  "autoscaling/v2/HorizontalPodAutoscaler": "io.k8s.api.autoscaling.v2.HorizontalPodAutoscaler",
  "policy/v1/PodDisruptionBudget": "io.k8s.api.policy.v1.PodDisruptionBudget",
};

const definitions = {};
ajv.register = (id, schema) => {
  definitions[id] = schema;
};

function moduleOf(id) {
  const name = id.split(".").map(part => part.charAt(0).toUpperCase() + part.slice(1)).join("");
  return path.join(process.cwd(), "node_modules/kubernetes-models/_schemas", name + ".js");
}

const roots = {};
for (const [kind, id] of Object.entries(kinds)) {
  require(moduleOf(id)).addSchema();
  if (!definitions[id]) throw new Error(`${moduleOf(id)} did not register ${id}`);
  roots[kind] = `#/$defs/${id}`;
}

function rewrite(node) {
  if (Array.isArray(node)) return node.map(rewrite);
  if (node && typeof node === "object") {
    const result = {};
    for (const [key, value] of Object.entries(node)) {
      result[key] = key === "$ref" ? `#/$defs/${value.replace(/#$/, "")}` : rewrite(value);
    }
    return result;
  }
  return node;
}

const sorted = Object.keys(definitions).sort();
const bundle = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  $comment: "Kubernetes OpenAPI definitions (Apache-2.0) as packaged by kubernetes-models 3.1.0 (MIT); see README.md beside this file.",
  kinds: roots,
  $defs: Object.fromEntries(sorted.map(id => [id, rewrite(definitions[id])])),
};
process.stdout.write(JSON.stringify(bundle, null, 1) + "\n");
