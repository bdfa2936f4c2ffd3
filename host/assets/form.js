// A form for a token's payload from an outcome's JSON Schema (the subset
// net files write: an object with `properties` of type string, number,
// integer or boolean, `enum`, `title`, `description`, `required`); any
// other schema, or none, is edited as JSON text.

import { h } from "./dom.js";

/// A payload editor: `{ node, value() }`; `value()` throws an Error naming
/// the field when the input does not fit.
export function payloadEditor(schema, initial, name) {
  if (schema && schema.type === "object" && schema.properties && typeof schema.properties === "object") {
    return schemaForm(schema, initial ?? {}, name);
  }
  return jsonEditor(initial, name, schema);
}

function jsonEditor(initial, name, schema) {
  const area = h("textarea", { class: "json-edit", name, rows: 6, spellcheck: "false" }, JSON.stringify(initial ?? {}, null, 2));
  const node = h("div", { class: "json-editor" }, area, schema ? h("details", {}, h("summary", {}, "schema"), h("pre", { class: "json" }, JSON.stringify(schema, null, 2))) : null);
  return {
    node,
    value() {
      try {
        return JSON.parse(area.value);
      } catch (err) {
        throw new Error(`${name}: not JSON (${err.message})`);
      }
    },
  };
}

function control(key, prop, value, required, id) {
  const common = { id, name: key, required };
  if (Array.isArray(prop.enum)) {
    return h(
      "select",
      common,
      required ? null : h("option", { value: "" }, "—"),
      prop.enum.map((v) => h("option", { value: JSON.stringify(v), selected: JSON.stringify(v) === JSON.stringify(value) }, String(v))),
    );
  }
  switch (prop.type) {
    case "boolean":
      return h("input", { ...common, type: "checkbox", checked: Boolean(value), required: false });
    case "number":
    case "integer":
      return h("input", { ...common, type: "number", step: prop.type === "integer" ? 1 : "any", min: prop.minimum, max: prop.maximum, value: value ?? "" });
    case "string":
      return (prop.maxLength ?? 0) > 200 || prop.format === "textarea"
        ? h("textarea", { ...common, rows: 4, maxlength: prop.maxLength }, value ?? "")
        : h("input", { ...common, type: "text", maxlength: prop.maxLength, value: value ?? "", autocomplete: "off" });
    default:
      return h("textarea", { ...common, rows: 3, class: "json-edit", spellcheck: "false" }, value === undefined ? "" : JSON.stringify(value, null, 2));
  }
}

function read(key, prop, el) {
  if (Array.isArray(prop.enum)) return el.value === "" ? undefined : JSON.parse(el.value);
  switch (prop.type) {
    case "boolean":
      return el.checked;
    case "number":
    case "integer": {
      if (el.value === "") return undefined;
      const n = Number(el.value);
      if (!Number.isFinite(n) || (prop.type === "integer" && !Number.isInteger(n))) throw new Error(`${key}: expected ${prop.type === "integer" ? "a whole number" : "a number"}`);
      return n;
    }
    case "string":
      return el.value === "" ? undefined : el.value;
    default:
      if (el.value.trim() === "") return undefined;
      try {
        return JSON.parse(el.value);
      } catch (err) {
        throw new Error(`${key}: not JSON (${err.message})`);
      }
  }
}

let forms = 0;

function schemaForm(schema, initial, name) {
  const required = new Set(schema.required ?? []);
  const n = ++forms;
  const fields = Object.entries(schema.properties).map(([key, prop]) => {
    const id = `f${n}-${key.replace(/\W/g, "_")}`;
    const el = control(key, prop ?? {}, initial[key], required.has(key), id);
    const label = h(
      "label",
      { for: id, class: "form-label" },
      prop?.title ?? key,
      required.has(key) ? h("span", { class: "req", title: "required" }, " *") : null,
    );
    const row = h("div", { class: "form-row", dataset: { field: key } }, label, el, prop?.description ? h("div", { class: "hint" }, prop.description) : null);
    return { key, prop: prop ?? {}, el, row };
  });
  const node = h("div", { class: "schema-form", dataset: { payload: name } }, fields.map((f) => f.row));
  return {
    node,
    value() {
      // Fields the schema does not name (e.g. from the input token) are
      // kept unless it forbids others.
      const out = schema.additionalProperties === false ? {} : { ...initial };
      for (const f of fields) {
        const v = read(f.key, f.prop, f.el);
        if (v === undefined) {
          if (required.has(f.key)) throw new Error(`${f.prop.title ?? f.key} is required`);
          delete out[f.key];
        } else {
          out[f.key] = v;
        }
      }
      return out;
    },
  };
}
