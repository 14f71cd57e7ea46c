// awslease's web UI: Vault's AWS workflow (mounts, config, roles, credentials, leases)
// through the server's own /v1 API and the signed-in token. No build step and no
// library: DOM calls only (no innerHTML of data), so the strict CSP holds. The token is
// kept in sessionStorage: it ends with the browser tab.

const TOKEN_KEY = "awslease-token";
const main = document.getElementById("main");
let fields; // fields.json: the same role and config field tables the CLI and API use

// ------------------------------------------------------------------ helpers

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "text") el.textContent = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) if (c !== undefined && c !== null && c !== false) el.append(c);
  return el;
}

function say(text, kind = "error") {
  const box = document.getElementById("message");
  box.textContent = text;
  box.className = kind === "info" ? "info" : "";
  box.hidden = !text;
}

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function api(method, path, body) {
  const token = sessionStorage.getItem(TOKEN_KEY) || "";
  const res = await fetch(`/v1/${path}`, {
    method,
    headers: { "X-Vault-Token": token, ...(body ? { "Content-Type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  const json = text ? JSON.parse(text) : undefined;
  if (!res.ok) {
    const message = json?.errors?.[0] || `${res.status} ${res.statusText}`;
    throw new ApiError(res.status, res.status === 403 ? "Your token may not do this (permission denied)." : message);
  }
  return json;
}

/** A list that may be empty: Vault answers an empty LIST with 404. */
async function listKeys(path) {
  try {
    return (await api("GET", `${path}?list=true`))?.data?.keys ?? [];
  } catch (err) {
    if (err.status === 404) return [];
    throw err;
  }
}

/** What the token may do on each path (Vault's sys/capabilities-self): controls it may not use are not shown. */
async function can(paths) {
  try {
    const data = (await api("POST", "sys/capabilities-self", { paths })).data ?? {};
    const allowed = (path, ...caps) => {
      const have = data[path] ?? [];
      return have.includes("root") || caps.some((c) => have.includes(c));
    };
    return allowed;
  } catch {
    return () => true; // the server decides anyway
  }
}

/** Shows a failed request: a field's error beside the field when the message names one. */
function showError(err, form) {
  const m = /^([a-zA-Z_]+): (.*)$/.exec(err.message || "");
  const name = m && fieldName(m[1]);
  const input = name && form?.querySelector(`[name="${name}"]`);
  if (input) {
    input.setAttribute("aria-invalid", "true");
    const note = form.querySelector(`#err-${name}`);
    if (note) note.textContent = m[2];
    input.focus();
    say(`${m[1]}: ${m[2]}`);
  } else say(err.message || String(err));
}

/** The rules name fields as a program does (roleArns) or as Vault (role_arns): the form uses Vault's names. */
function fieldName(name) {
  const all = [...(fields?.roleFields ?? []), ...(fields?.configFields ?? [])];
  return all.find((f) => f.key === name || f.vault === name)?.vault ?? name;
}

function clearErrors(form) {
  for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
  for (const el of form.querySelectorAll(".field-error")) el.textContent = "";
  say("");
}

function field(name, label, input, hint) {
  input.id = `f-${name}`;
  input.name = name;
  input.setAttribute("aria-describedby", `hint-${name} err-${name}`);
  return h("div", { class: "field" },
    h("label", { for: input.id }, label),
    h("span", { class: "hint", id: `hint-${name}` }, hint ?? ""),
    input,
    h("div", { class: "field-error", id: `err-${name}`, "aria-live": "polite" }));
}

function copyButton(label, value) {
  return h("button", { type: "button", class: "secondary", onclick: () => navigator.clipboard?.writeText(value).then(() => say(`${label} copied.`, "info"), () => say("Copy failed: select the text instead.")) }, `Copy ${label}`);
}

function formatDuration(seconds) {
  if (seconds <= 0) return "0s";
  const h_ = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
  return `${h_ ? `${h_}h` : ""}${m ? `${m}m` : ""}${s || (!h_ && !m) ? `${s}s` : ""}`;
}

/** Each page draw takes a ticket; a draw that finishes after a newer one started is dropped. */
let drawn = 0;
const ticket = () => ++drawn;

function page(my, title, ...children) {
  if (my !== drawn) return;
  main.replaceChildren(h("h1", { text: title }), ...children.flat().filter(Boolean));
  document.title = `${title} · awslease`;
  main.focus();
}

// ------------------------------------------------------------------ pages

async function signIn(my = ticket()) {
  const input = h("input", { type: "password", autocomplete: "off", required: true });
  const form = h("form", {
    onsubmit: async (e) => {
      e.preventDefault();
      sessionStorage.setItem(TOKEN_KEY, input.value.trim());
      try {
        await api("GET", "auth/token/lookup-self");
        location.hash = "#/mounts";
        await route();
      } catch (err) {
        sessionStorage.removeItem(TOKEN_KEY);
        say(err.status === 403 ? "That token is not valid." : err.message);
      }
    },
  }, field("token", "Token", input, "A server token (X-Vault-Token). It stays in this browser tab only."), h("button", { type: "submit" }, "Sign in"));
  page(my, "Sign in", form);
}

async function mountsPage(my = ticket()) {
  let table = {};
  try {
    table = await api("GET", "sys/mounts");
  } catch (err) {
    say(err.message);
  }
  const mounts = Object.keys(table).filter((k) => k.endsWith("/") && table[k]?.type === "aws").map((k) => k.slice(0, -1)).sort();
  const allowed = await can(["sys/mounts/x", ...mounts.map((m) => `sys/mounts/${m}`)]);
  const path = h("input", { pattern: "[a-zA-Z0-9_-]{1,64}", required: true, placeholder: "aws" });
  const enable = h("form", {
    onsubmit: async (e) => {
      e.preventDefault();
      clearErrors(enable);
      try {
        await api("POST", `sys/mounts/${path.value}`, { type: "aws" });
        const enabled = path.value;
        await mountsPage();
        say(`Enabled the AWS engine at ${enabled}/.`, "info");
      } catch (err) {
        showError(err, enable);
      }
    },
  }, field("path", "Path", path, "Letters, digits, _ and -"), h("button", { type: "submit" }, "Enable AWS engine"));
  page(my, "Mounts",
    mounts.length
      ? h("table", {}, h("thead", {}, h("tr", {}, h("th", { text: "Path" }), h("th", { text: "" }))),
          h("tbody", {}, mounts.map((m) => h("tr", {},
            h("td", {}, h("code", { text: `${m}/` })),
            h("td", {},
              h("a", { href: `#/m/${m}/roles` }, "Roles"), " · ", h("a", { href: `#/m/${m}/leases` }, "Leases"), " · ", h("a", { href: `#/m/${m}/config` }, "Configuration"), " ",
              allowed(`sys/mounts/${m}`, "delete") ? h("button", { type: "button", class: "danger", "aria-label": `Disable ${m}`, onclick: () => disable(m) }, "Disable") : null)))))
      : h("p", { text: "No AWS mounts you can see." }),
    allowed("sys/mounts/x", "create", "update") ? [h("h2", { text: "Enable a new AWS engine" }), enable] : null);
}

async function disable(mount) {
  if (!confirm(`Disable ${mount}/? Every lease of this mount is revoked first.`)) return;
  try {
    await api("DELETE", `sys/mounts/${mount}`);
    await mountsPage();
    say(`Disabled ${mount}/ and revoked its leases.`, "info");
  } catch (err) {
    say(err.message);
  }
}

async function configPage(mount, my = ticket()) {
  let root = {}, lease = {};
  try {
    [root, lease] = await Promise.all([api("GET", `${mount}/config/root`).then((r) => r.data), api("GET", `${mount}/config/lease`).then((r) => r.data)]);
  } catch (err) {
    if (err.status !== 400) say(err.message); // 400: not configured yet
  }
  const values = { ...root, ...lease };
  const form = h("form", {
    onsubmit: async (e) => {
      e.preventDefault();
      clearErrors(form);
      const body = { root: {}, lease: {} };
      for (const f of fields.configFields) {
        const v = form.elements[f.vault].value.trim();
        // The secret key is write-only: empty keeps the stored one.
        if (v !== "" || (!f.secret && values[f.vault] != null && values[f.vault] !== "")) body[f.endpoint][f.vault] = v;
      }
      try {
        await api("POST", `${mount}/config/root`, body.root);
        if (Object.keys(body.lease).length) await api("POST", `${mount}/config/lease`, body.lease);
        await configPage(mount);
        say("Configuration saved.", "info");
      } catch (err) {
        showError(err, form);
      }
    },
  },
  fields.configFields.map((f) =>
    field(f.vault, f.vault, h("input", { type: f.secret ? "password" : "text", autocomplete: "off", value: f.secret ? "" : (values[f.vault] ?? ""), placeholder: f.secret && root.access_key ? "(stored; leave empty to keep)" : "" }), f.description)),
  h("button", { type: "submit" }, "Save configuration"));
  const rotate = h("button", {
    type: "button", class: "danger",
    onclick: async () => {
      if (!confirm("Rotate the root key? awslease creates a new access key and deletes the old one; only awslease will know the new secret.")) return;
      try {
        const r = await api("POST", `${mount}/config/rotate-root`, {});
        await configPage(mount);
        say(`Root key rotated: the new access key id is ${r.data.access_key}.`, "info");
      } catch (err) {
        say(err.message);
      }
    },
  }, "Rotate root key");
  page(my, `Configuration of ${mount}/`, form, h("h2", { text: "Rotate the root key" }), rotate);
}

async function rolesPage(mount, my = ticket()) {
  let names = [];
  try {
    names = await listKeys(`${mount}/roles`);
  } catch (err) {
    say(err.message);
  }
  const name = h("input", { required: true, pattern: "[\\w+=,.@-]{1,64}" });
  page(my, `Roles of ${mount}/`,
    names.length ? h("ul", {}, names.map((n) => h("li", {}, h("a", { href: `#/m/${mount}/roles/${encodeURIComponent(n)}` }, n)))) : h("p", { text: "No roles you can see." }),
    h("h2", { text: "New role" }),
    h("form", { onsubmit: (e) => { e.preventDefault(); location.hash = `#/m/${mount}/roles/${encodeURIComponent(name.value)}?new`; } },
      field("new-role", "Role name", name, "Letters, digits and _+=,.@-"), h("button", { type: "submit" }, "Create role…")));
}

function roleInput(f, value) {
  if (f.key === "credentialType") {
    return h("select", {}, fields.credentialTypes.map((t) => h("option", { value: t.name, selected: value === t.name }, t.name)));
  }
  if (f.kind === "policy") {
    const text = value ? (typeof value === "string" ? (() => { try { return JSON.stringify(JSON.parse(value), null, 2); } catch { return value; } })() : JSON.stringify(value, null, 2)) : "";
    return h("textarea", { spellcheck: "false" }, text);
  }
  if (f.kind === "list") return h("input", { value: Array.isArray(value) ? value.join(", ") : (value ?? "") });
  if (f.kind === "kv") return h("input", { value: value && typeof value === "object" ? Object.entries(value).map(([k, v]) => `${k}=${v}`).join(", ") : (value ?? "") });
  return h("input", { value: value ?? "" });
}

async function rolePage(mount, role, isNew, my = ticket()) {
  let current = { credential_type: "iam_user" };
  if (!isNew) {
    try {
      current = (await api("GET", `${mount}/roles/${encodeURIComponent(role)}`)).data;
    } catch (err) {
      say(err.status === 404 ? `No role "${role}".` : err.message);
      return page(my, `Role ${role}`);
    }
  }
  const form = h("form", { novalidate: true });
  const typeOf = () => form.elements.credential_type.value;
  for (const f of fields.roleFields) {
    // The table's descriptions are the CLI's: its @file forms do not apply to a form field.
    const described = f.description.replace(/, @file, or @- for stdin$/, "");
    const listHint = /comma-separated|k=v/.test(described) ? "" : f.kind === "list" ? " (comma-separated)" : f.kind === "kv" ? " (key=value, comma-separated)" : "";
    const el = field(f.vault, f.vault, roleInput(f, current[f.vault]), `${described}${listHint}`);
    el.dataset.types = f.types.join(" ");
    form.append(el);
  }
  const showFields = () => {
    for (const el of form.querySelectorAll(".field[data-types]")) el.hidden = !el.dataset.types.split(" ").includes(typeOf());
  };
  form.elements.credential_type.addEventListener("change", showFields);
  const policy = form.elements.policy_document;
  policy.addEventListener("input", () => {
    let problem = "";
    if (policy.value.trim()) try { JSON.parse(policy.value); } catch (e) { problem = `Not JSON yet: ${e.message}`; }
    policy.setAttribute("aria-invalid", problem ? "true" : "false");
    form.querySelector("#err-policy_document").textContent = problem;
  });
  showFields();
  form.append(h("button", { type: "submit" }, isNew ? "Create role" : "Save role"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearErrors(form);
    const body = {};
    for (const f of fields.roleFields) {
      const el = form.elements[f.vault];
      if (el.closest(".field").hidden) continue;
      const v = el.value.trim();
      if (v === "") continue;
      body[f.vault] = f.kind === "list" ? v.split(",").map((s) => s.trim()).filter(Boolean) : f.kind === "kv" ? v.split(",").map((s) => s.trim()).filter(Boolean) : v;
    }
    try {
      await api("POST", `${mount}/roles/${encodeURIComponent(role)}`, body);
      location.hash = `#/m/${mount}/roles/${encodeURIComponent(role)}`;
      await route();
      say(`Role ${role} saved.`, "info");
    } catch (err) {
      showError(err, form);
    }
  });
  const rolePath = `${mount}/roles/${role}`;
  const credsPath = `${mount}/creds/${role}`;
  const allowed = await can([rolePath, credsPath]);
  const parts = allowed(rolePath, isNew ? "create" : "update") ? [form] : [];
  if (!isNew) {
    if (allowed(rolePath, "delete")) parts.push(h("button", {
      type: "button", class: "danger",
      onclick: async () => {
        if (!confirm(`Delete role ${role}? Its leases stay valid until revoked, as in Vault.`)) return;
        try {
          await api("DELETE", `${mount}/roles/${encodeURIComponent(role)}`);
          location.hash = `#/m/${mount}/roles`;
        } catch (err) {
          say(err.message);
        }
      },
    }, "Delete role"));
    if (allowed(credsPath, "update", "read")) parts.push(h("h2", { text: "Generate credentials" }), credentialsForm(mount, role, current.credential_type));
  }
  page(my, isNew ? `New role ${role}` : `Role ${role}`, ...parts);
}

function credentialsForm(mount, role, type) {
  const out = h("section", { "aria-live": "polite" });
  const inputs = [field("ttl", "TTL", h("input", { placeholder: "1h" }), "Seconds or a duration (15m, 1h30m); empty: the role's default")];
  if (type === "assumed_role") {
    inputs.push(field("role_arn", "Role ARN", h("input", {}), "Which of the role's ARNs to assume (optional when it has one)"));
    inputs.push(field("role_session_name", "Session name", h("input", {}), "Optional"));
  }
  if (type === "session_token") inputs.push(field("mfa_code", "MFA code", h("input", { inputmode: "numeric", autocomplete: "one-time-code" }), "The current code, when the role has an MFA device"));
  const form = h("form", {
    onsubmit: async (e) => {
      e.preventDefault();
      clearErrors(form);
      const body = {};
      for (const el of form.querySelectorAll("input")) if (el.value.trim()) body[el.name] = el.value.trim();
      try {
        const r = await api("POST", `${mount}/creds/${encodeURIComponent(role)}`, body);
        out.replaceChildren(...credentialsView(r).filter(Boolean));
        for (const el of form.querySelectorAll("input")) el.value = "";
      } catch (err) {
        showError(err, form);
      }
    },
  }, inputs, h("button", { type: "submit" }, "Generate credentials"));
  return h("div", {}, form, out);
}

/** The new keys, shown once (they are not stored by the UI), with copy buttons and snippets. */
function credentialsView(r) {
  const d = r.data;
  const expires = new Date(Date.now() + r.lease_duration * 1000).toISOString();
  const env = [`export AWS_ACCESS_KEY_ID=${d.access_key}`, `export AWS_SECRET_ACCESS_KEY=${d.secret_key}`, ...(d.session_token ? [`export AWS_SESSION_TOKEN=${d.session_token}`] : []), ...(d.region ? [`export AWS_REGION=${d.region}`] : [])].join("\n");
  const ini = ["[awslease]", `aws_access_key_id = ${d.access_key}`, `aws_secret_access_key = ${d.secret_key}`, ...(d.session_token ? [`aws_session_token = ${d.session_token}`] : [])].join("\n");
  const role = r.lease_id.split("/")[2];
  const cp = `[profile ${role}]\ncredential_process = awslease credential-process ${role} --ttl 1h --quiet`;
  const secret = (label, value, id) => h("div", { class: "secret" }, h("strong", { text: `${label}:` }), h("code", { id, text: value }), copyButton(label, value));
  return [
    h("p", {}, "Shown once: copy them now. Lease ", h("code", { id: "new-lease-id", text: r.lease_id }), ` expires ${expires} (${formatDuration(r.lease_duration)}).`),
    secret("access key", d.access_key, "new-access-key"),
    secret("secret key", d.secret_key, "new-secret-key"),
    d.session_token ? secret("session token", d.session_token, "new-session-token") : null,
    ...(r.warnings ?? []).map((w) => h("p", { class: "field-error", text: w })),
    h("h3", { text: "Shell (env)" }), h("pre", { text: env }), copyButton("env", env),
    h("h3", { text: "~/.aws/credentials" }), h("pre", { text: ini }), copyButton("credentials", ini),
    h("h3", { text: "credential_process (~/.aws/config)" }), h("pre", { text: cp }), copyButton("credential_process", cp),
  ];
}

let ticker;

async function leasesPage(mount, my = ticket()) {
  clearInterval(ticker);
  const ids = [];
  const walk = async (prefix) => {
    for (const key of await listKeys(`sys/leases/lookup/${prefix}`)) key.endsWith("/") ? await walk(`${prefix}${key}`) : ids.push(`${prefix}${key}`);
  };
  try {
    await walk(`${mount}/`);
  } catch (err) {
    say(err.message);
  }
  const rows = [];
  for (const id of ids.sort()) {
    try {
      rows.push((await api("PUT", "sys/leases/lookup", { lease_id: id })).data);
    } catch {
      // revoked meanwhile
    }
  }
  const allowed = await can(["sys/leases/renew", "sys/leases/revoke", `sys/leases/revoke-prefix/${mount}/`]);
  const filter = h("input", { type: "search", placeholder: `${mount}/creds/deploy` });
  const body = h("tbody");
  const draw = () => {
    const now = Date.now();
    body.replaceChildren(...rows.filter((r) => !filter.value || r.id.startsWith(filter.value) || r.id.split("/")[2] === filter.value).map((r) => {
      const left = Math.max(0, Math.floor((Date.parse(r.expire_time) - now) / 1000));
      const status = r.irrevocable ? "irrevocable" : left === 0 ? "expired" : left < 300 ? "expiring" : "active";
      const type = r.credential_type || "";
      return h("tr", { "data-lease": r.id },
        h("td", {}, h("code", { text: r.id })),
        h("td", { text: r.id.split("/")[2] }),
        h("td", { text: r.credential_type || "" }),
        h("td", { text: r.issue_time }),
        h("td", { text: r.expire_time }),
        h("td", { class: "ttl", text: formatDuration(left) }),
        h("td", { class: `status-${status}`, text: status, title: r.irrevocable || undefined }),
        h("td", {},
          r.renewable && allowed("sys/leases/renew", "update") ? h("button", { type: "button", class: "secondary", "aria-label": `Renew ${r.id}`, onclick: () => renewLease(mount, r.id) }, "Renew") : null,
          allowed("sys/leases/revoke", "update") ? h("button", { type: "button", class: "danger", "aria-label": `Revoke ${r.id}`, onclick: () => revokeLease(mount, r.id, type) }, "Revoke") : null));
    }));
  };
  filter.addEventListener("input", draw);
  const prefix = h("input", { placeholder: `${mount}/creds/` });
  page(my, `Leases of ${mount}/`,
    field("filter", "Filter by role or lease id prefix", filter),
    rows.length ? h("table", {}, h("thead", {}, h("tr", {}, ["Lease", "Role", "Type", "Issued", "Expires", "TTL", "Status", ""].map((t) => h("th", { text: t })))), body) : h("p", { text: "No leases you can see." }),
    !allowed(`sys/leases/revoke-prefix/${mount}/`, "sudo") ? null : h("h2", { text: "Revoke every lease under a prefix" }),
    !allowed(`sys/leases/revoke-prefix/${mount}/`, "sudo") ? null : h("form", { onsubmit: async (e) => {
      e.preventDefault();
      if (!prefix.value || !confirm(`Revoke every lease under ${prefix.value}?`)) return;
      try {
        await api("PUT", `sys/leases/revoke-prefix/${prefix.value}`);
        const done = prefix.value;
        await leasesPage(mount);
        say(`Revoked every lease under ${done}.`, "info");
      } catch (err) {
        say(err.message);
      }
    } }, field("prefix", "Prefix", prefix, "Needs sudo on sys/leases/revoke-prefix"), h("button", { type: "submit", class: "danger" }, "Revoke prefix")));
  draw();
  if (my === drawn) ticker = setInterval(draw, 1000);
}

async function renewLease(mount, id) {
  const increment = prompt(`Renew ${id} for how long from now? (e.g. 1h; empty: its TTL)`, "1h");
  if (increment === null) return;
  try {
    await api("PUT", "sys/leases/renew", { lease_id: id, ...(increment.trim() ? { increment: increment.trim() } : {}) });
    await leasesPage(mount);
    say(`Renewed ${id}.`, "info");
  } catch (err) {
    say(err.message);
  }
}

const REVOKE_NOTES = {
  iam_user: " Its IAM user is deleted.",
  assumed_role: " Its session is denied in AWS (unless the mount's sts_revocation is none).",
  federation_token: " Its session is denied in AWS (unless the mount's sts_revocation is none).",
  session_token: " Session tokens cannot be denied in AWS: they stay valid until AWS expires them.",
};

async function revokeLease(mount, id, type) {
  const note = REVOKE_NOTES[type] ?? "";
  if (!confirm(`Revoke ${id}?${note}`)) return;
  try {
    const r = await api("PUT", "sys/leases/revoke", { lease_id: id });
    await leasesPage(mount);
    say(r?.warnings?.length ? r.warnings.join(" ") : `Revoked ${id}.`, "info");
  } catch (err) {
    say(err.message);
  }
}

// ------------------------------------------------------------------ routing

async function route() {
  // The ticket is taken now, so a slower earlier route can never draw over this one.
  const my = ticket();
  clearInterval(ticker);
  const signedIn = !!sessionStorage.getItem(TOKEN_KEY);
  const nav = document.getElementById("nav");
  const who = document.getElementById("who");
  if (!signedIn) {
    nav.replaceChildren();
    who.replaceChildren();
    return signIn(my);
  }
  fields ??= await fetch("/ui/fields.json").then((r) => r.json());
  try {
    const self = (await api("GET", "auth/token/lookup-self")).data;
    who.replaceChildren(`${self.display_name} (${self.policies.join(", ")}) `, h("button", { type: "button", class: "secondary", onclick: () => { sessionStorage.removeItem(TOKEN_KEY); say(""); location.hash = ""; route(); } }, "Sign out"));
  } catch {
    sessionStorage.removeItem(TOKEN_KEY);
    say("Your token is no longer valid: sign in again.");
    return route();
  }
  const [path, query] = (location.hash.slice(1) || "/mounts").split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const mount = parts[0] === "m" ? parts[1] : undefined;
  nav.replaceChildren(h("a", { href: "#/mounts" }, "Mounts"), ...(mount ? [h("a", { href: `#/m/${mount}/roles` }, "Roles"), h("a", { href: `#/m/${mount}/leases` }, "Leases"), h("a", { href: `#/m/${mount}/config` }, "Configuration")] : []));
  if (!mount) return mountsPage(my);
  if (parts[2] === "config") return configPage(mount, my);
  if (parts[2] === "leases") return leasesPage(mount, my);
  if (parts[2] === "roles" && parts[3]) return rolePage(mount, parts[3], query === "new", my);
  return rolesPage(mount, my);
}

window.addEventListener("hashchange", () => { say(""); route(); });
route();
