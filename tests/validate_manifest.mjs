// Validates a Teams app manifest and its localisation files against the official JSON
// schemas that @microsoft/app-manifest bundles (offline: the schema URL in "$schema"
// resolves to the package's own copy). Prints {"file": [errors...]} as JSON.
//   node tests/validate_manifest.mjs manifest.json [en-us.json ...]
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const require = createRequire(import.meta.url);
const { AppManifestUtils } = require("@microsoft/app-manifest");
const schemas = join(dirname(require.resolve("@microsoft/app-manifest")), "json-schemas", "teams");

const [manifestPath, ...localizations] = process.argv.slice(2);
const manifest = JSON.parse(readFileSync(manifestPath, "utf8"));
const results = { [manifestPath]: await AppManifestUtils.validateAgainstSchema(manifest) };
const version = manifest.$schema.match(/teams\/(v[^/]+)\//)[1];
const localizationSchema = JSON.parse(
  readFileSync(join(schemas, version, "MicrosoftTeams.Localization.schema.json"), "utf8"),
);
// The localisation schema's patterns are not valid as Unicode regular expressions
// (ajv's default), so it is compiled with the package's own draft-04 ajv, without "u".
const fromPackage = createRequire(require.resolve("@microsoft/app-manifest"));
const Ajv = fromPackage("ajv-draft-04");
const addFormats = fromPackage("ajv-formats");
const ajv = new Ajv({ allErrors: true, strictTypes: false, unicodeRegExp: false });
addFormats(ajv, ["uri", "email", "regex"]);
const validateLocalization = ajv.compile(localizationSchema);
for (const path of localizations) {
  const valid = validateLocalization(JSON.parse(readFileSync(path, "utf8")));
  results[path] = valid ? [] : validateLocalization.errors.map(
    (e) => `${e.instancePath} ${e.message}. Details: ${JSON.stringify(e.params)}`,
  );
}
console.log(JSON.stringify(results));
