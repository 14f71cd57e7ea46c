// Vault's `username_template`: a Go text/template rendered into IAM user names,
// AssumeRole session names and GetFederationToken names. This is a small, safe
// evaluator for the subset Vault's docs and default template use (fields, Vault's
// template functions, printf/eq, pipelines, parentheses, if/else if/else/end).
// Everything is checked when the template is parsed (unknown functions or fields,
// argument counts and types), so rendering can only fail on the name it produces.
import { createHash, randomInt, randomUUID } from "node:crypto";
import { ValidationError, quoteValue } from "./errors";

const FIELD = "usernameTemplate";

/**
 * awslease's default: Vault's default template with the prefix "awslease" and the
 * mount as DisplayName, i.e. IAM `awslease-<mount>-<role>` (cut to 39, so 4 random characters survive the cut to 64, as in Vault) `-<unix_time>-<random 20>`
 * cut to 64; STS `awslease-<unix_time>-<random 20>` cut to 32.
 */
export const DEFAULT_USERNAME_TEMPLATE =
  '{{ if (eq .Type "STS") }}{{ printf "awslease-%s-%s" (unix_time) (random 20) | truncate 32 }}' +
  '{{ else }}{{ printf "awslease-%s-%s-%s" (printf "%s-%s" (.DisplayName) (.PolicyName) | truncate 39) (unix_time) (random 20) | truncate 64 }}{{ end }}';

/** Name limits of the AWS calls the rendered name goes to. */
export const USERNAME_MAX_LENGTH = { IAM: 64, STS: 32 } as const;

export interface UsernameContext {
  /** "IAM" for IAM user names and AssumeRole session names, "STS" for GetFederationToken names. */
  type: "IAM" | "STS";
  /** The role name (`.PolicyName` / `.RoleName`). */
  roleName: string;
  /** The engine mount (`.Mount`, and `.DisplayName` unless displayName is given). */
  mount: string;
  displayName?: string;
  /** Clock for unix_time / timestamp; defaults to now. */
  now?: Date;
}

/** Throws ValidationError (field usernameTemplate) if the template is not valid. */
export function parseUsernameTemplate(template: string): void {
  parseTemplate(template);
}

/**
 * Renders the template (the default when undefined or empty). The result must be a
 * valid IAM / STS name: characters [\w+=,.@-], at most 64 (IAM) or 32 (STS) long,
 * otherwise a ValidationError; the name is never silently cut (Vault >= 1.9).
 */
export function renderUsername(template: string | undefined, ctx: UsernameContext): string {
  const source = template === undefined || template === "" ? DEFAULT_USERNAME_TEMPLATE : template;
  const nodes = parseTemplate(source);
  const policyName = normaliseName(ctx.roleName);
  const fields: Record<FieldName, string> = {
    Type: ctx.type,
    DisplayName: normaliseName(ctx.displayName ?? ctx.mount),
    PolicyName: policyName,
    RoleName: policyName,
    Mount: ctx.mount,
  };
  const name = renderNodes(nodes, { fields, now: ctx.now ?? new Date() });

  const limit = USERNAME_MAX_LENGTH[ctx.type];
  const what = ctx.type === "IAM" ? "IAM user and session names" : "federation token names";
  if (name.length === 0) throw ValidationError.of(FIELD, `rendered an empty name`);
  if (ctx.type === "STS" && name.length < 2) {
    throw ValidationError.of(FIELD, `rendered name ${quoteValue(name)} is shorter than the 2 characters AWS requires for ${what}`);
  }
  if (name.length > limit) {
    throw ValidationError.of(FIELD, `rendered name ${quoteValue(name, 80)} is ${name.length} characters long; the limit for ${what} is ${limit}`);
  }
  if (!/^[\w+=,.@-]+$/.test(name)) {
    throw ValidationError.of(FIELD, `rendered name ${quoteValue(name, 80)} has characters AWS does not allow (allowed: letters, digits and _+=,.@-)`);
  }
  return name;
}

/** Vault replaces every character outside [a-zA-Z0-9+=,.@_-] in DisplayName and PolicyName with "_". */
export function normaliseName(name: string): string {
  return name.replace(/[^a-zA-Z0-9+=,.@_-]/g, "_");
}

// ---------------------------------------------------------------- syntax tree

type FieldName = "Type" | "DisplayName" | "PolicyName" | "RoleName" | "Mount";
const FIELDS: readonly FieldName[] = ["Type", "DisplayName", "PolicyName", "RoleName", "Mount"];

type Value = string | number | boolean;
type ValueType = "string" | "int" | "bool" | "any";

type Operand =
  | { kind: "field"; name: FieldName; pos: number }
  | { kind: "literal"; value: Value; pos: number }
  /** `bare` = written as a plain identifier, so it may take arguments as a command head. */
  | { kind: "call"; name: string; args: Operand[]; bare: boolean; pos: number }
  | { kind: "group"; pipeline: Pipeline; pos: number };

/** Commands joined by "|": each later command is a call that gets the previous value as its last argument. */
type Pipeline = Operand[];

type TemplateNode =
  | { kind: "text"; text: string }
  | { kind: "output"; pipeline: Pipeline }
  | { kind: "if"; branches: { condition: Pipeline; body: TemplateNode[] }[]; otherwise: TemplateNode[] };

interface RenderScope {
  fields: Record<FieldName, string>;
  now: Date;
}

// ---------------------------------------------------------------- functions

interface FunctionSpec {
  params: ValueType[];
  /** Type of any further arguments; undefined = exactly params.length arguments. */
  rest?: ValueType;
  result: ValueType;
  /** Checks on literal arguments, at parse time; returns a reason or undefined. */
  checkLiterals?: (args: (Value | undefined)[], argCount: number) => string | undefined;
  run: (args: Value[], scope: RenderScope) => Value;
}

const ALPHANUMERIC = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const MAX_RANDOM_LENGTH = 1024;

const FUNCTIONS: Record<string, FunctionSpec> = {
  unix_time: { params: [], result: "string", run: (_a, s) => String(Math.floor(s.now.getTime() / 1000)) },
  unix_time_millis: { params: [], result: "string", run: (_a, s) => String(s.now.getTime()) },
  timestamp: { params: ["string"], result: "string", run: ([layout], s) => formatGoTime(String(layout), s.now) },
  uuid: { params: [], result: "string", run: () => randomUUID() },
  random: {
    params: ["int"],
    result: "string",
    checkLiterals: ([n]) => (typeof n === "number" && (n < 1 || n > MAX_RANDOM_LENGTH) ? `random length must be 1..${MAX_RANDOM_LENGTH}, got ${n}` : undefined),
    run: ([n]) => randomAlphanumeric(n as number),
  },
  truncate: {
    params: ["int", "string"],
    result: "string",
    checkLiterals: ([n]) => (typeof n === "number" && n <= 0 ? `truncate length must be > 0, got ${n}` : undefined),
    run: ([n, text]) => truncate(n as number, text as string),
  },
  truncate_sha256: {
    params: ["int", "string"],
    result: "string",
    checkLiterals: ([n]) => (typeof n === "number" && n <= 8 ? `truncate_sha256 length must be > 8, got ${n}` : undefined),
    run: ([n, text]) => truncateSha256(n as number, text as string),
  },
  lowercase: { params: ["string"], result: "string", run: ([text]) => (text as string).toLowerCase() },
  uppercase: { params: ["string"], result: "string", run: ([text]) => (text as string).toUpperCase() },
  replace: {
    params: ["string", "string", "string"],
    result: "string",
    run: ([find, replacement, text]) => (text as string).split(find as string).join(replacement as string),
  },
  sha256: { params: ["string"], result: "string", run: ([text]) => sha256Hex(text as string) },
  base64: { params: ["string"], result: "string", run: ([text]) => Buffer.from(text as string, "utf8").toString("base64") },
  printf: {
    params: ["string"],
    rest: "any",
    result: "string",
    checkLiterals: ([format], argCount) => {
      if (typeof format !== "string") return undefined;
      const verbs = printfVerbs(format);
      if (typeof verbs === "string") return verbs;
      return verbs.length === argCount - 1 ? undefined : `printf format ${quoteValue(format)} has ${verbs.length} verb(s) but ${argCount - 1} argument(s)`;
    },
    run: ([format, ...args]) => printf(format as string, args),
  },
  eq: {
    params: ["any", "any"],
    rest: "any",
    result: "bool",
    run: ([first, ...others]) => others.some((other) => compareEqual(first, other)),
  },
};

function randomAlphanumeric(length: number): string {
  if (!Number.isInteger(length) || length < 1 || length > MAX_RANDOM_LENGTH) {
    throw ValidationError.of(FIELD, `random length must be 1..${MAX_RANDOM_LENGTH}, got ${length}`);
  }
  let out = "";
  for (let i = 0; i < length; i++) out += ALPHANUMERIC[randomInt(ALPHANUMERIC.length)];
  return out;
}

function truncate(maxLength: number, text: string): string {
  if (maxLength <= 0) throw ValidationError.of(FIELD, `truncate length must be > 0, got ${maxLength}`);
  return text.length > maxLength ? text.slice(0, maxLength) : text;
}

// As Vault: keep maxLength-8 characters and replace the rest with 8 hex chars of its SHA-256.
function truncateSha256(maxLength: number, text: string): string {
  if (maxLength <= 8) throw ValidationError.of(FIELD, `truncate_sha256 length must be > 8, got ${maxLength}`);
  if (text.length <= maxLength) return text;
  const cut = maxLength - 8;
  return text.slice(0, cut) + sha256Hex(text.slice(cut)).slice(0, 8);
}

function sha256Hex(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

function compareEqual(a: Value, b: Value): boolean {
  if (typeof a !== typeof b) {
    throw ValidationError.of(FIELD, `eq: cannot compare ${typeof a} with ${typeof b}`);
  }
  return a === b;
}

/** The verbs of a printf format (%s %d %v %q; %% is a literal), or a reason it is unsupported. */
function printfVerbs(format: string): string[] | string {
  const verbs: string[] = [];
  for (let i = 0; i < format.length; i++) {
    if (format[i] !== "%") continue;
    const verb = format[i + 1];
    i++;
    if (verb === "%") continue;
    if (verb === undefined || !"sdvq".includes(verb)) {
      return `printf verb ${quoteValue("%" + (verb ?? ""))} is not supported (use %s, %d, %v, %q or %%)`;
    }
    verbs.push(verb);
  }
  return verbs;
}

function printf(format: string, args: Value[]): string {
  const verbs = printfVerbs(format);
  if (typeof verbs === "string") throw ValidationError.of(FIELD, verbs);
  if (verbs.length !== args.length) {
    throw ValidationError.of(FIELD, `printf format ${quoteValue(format)} has ${verbs.length} verb(s) but ${args.length} argument(s)`);
  }
  let next = 0;
  return format.replace(/%([%sdvq])/g, (_all, verb: string) => {
    if (verb === "%") return "%";
    const arg = args[next++];
    if (verb === "d" && typeof arg !== "number") throw ValidationError.of(FIELD, `printf %d needs a number, got ${typeof arg}`);
    return verb === "q" ? JSON.stringify(String(arg)) : String(arg);
  });
}

// Go reference-time layouts ("2006-01-02T15:04:05Z07:00"), always rendered in UTC.
const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];
const WEEKDAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

function formatGoTime(layout: string, when: Date): string {
  const pad = (n: number, width = 2) => String(n).padStart(width, "0");
  const hour12 = when.getUTCHours() % 12 === 0 ? 12 : when.getUTCHours() % 12;
  const tokens: [string, () => string][] = [
    ["January", () => MONTHS[when.getUTCMonth()]],
    ["Jan", () => MONTHS[when.getUTCMonth()].slice(0, 3)],
    ["Monday", () => WEEKDAYS[when.getUTCDay()]],
    ["Mon", () => WEEKDAYS[when.getUTCDay()].slice(0, 3)],
    ["MST", () => "UTC"],
    ["2006", () => pad(when.getUTCFullYear(), 4)],
    ["01", () => pad(when.getUTCMonth() + 1)],
    ["02", () => pad(when.getUTCDate())],
    ["03", () => pad(hour12)],
    ["04", () => pad(when.getUTCMinutes())],
    ["05", () => pad(when.getUTCSeconds())],
    ["06", () => pad(when.getUTCFullYear() % 100)],
    ["15", () => pad(when.getUTCHours())],
    ["_2", () => String(when.getUTCDate()).padStart(2, " ")],
    ["1", () => String(when.getUTCMonth() + 1)],
    ["2", () => String(when.getUTCDate())],
    ["3", () => String(hour12)],
    ["4", () => String(when.getUTCMinutes())],
    ["5", () => String(when.getUTCSeconds())],
    ["PM", () => (when.getUTCHours() >= 12 ? "PM" : "AM")],
    ["pm", () => (when.getUTCHours() >= 12 ? "pm" : "am")],
    ["Z07:00", () => "Z"],
    ["Z0700", () => "Z"],
    ["Z07", () => "Z"],
    ["-07:00", () => "+00:00"],
    ["-0700", () => "+0000"],
    ["-07", () => "+00"],
  ];
  let out = "";
  let i = 0;
  outer: while (i < layout.length) {
    // Fractional seconds: ".000" (fixed) or ".999" (trailing zeros dropped), not followed by a digit.
    const fraction = /^[.,](0+|9+)(?!\d)/.exec(layout.slice(i));
    if (fraction) {
      const digits = fraction[1].length;
      const nanos = pad(when.getUTCMilliseconds(), 3) + "000000";
      let part = nanos.slice(0, Math.min(digits, 9)).padEnd(digits, "0");
      if (fraction[1][0] === "9") part = part.replace(/0+$/, "");
      out += part === "" ? "" : layout[i] + part;
      i += fraction[0].length;
      continue;
    }
    for (const [token, render] of tokens) {
      if (layout.startsWith(token, i)) {
        out += render();
        i += token.length;
        continue outer;
      }
    }
    out += layout[i];
    i++;
  }
  return out;
}

// ---------------------------------------------------------------- lexer

type Token =
  | { t: "lparen" | "rparen" | "pipe"; pos: number }
  | { t: "string"; value: string; pos: number }
  | { t: "number"; value: number; pos: number }
  | { t: "bool"; value: boolean; pos: number }
  | { t: "field"; value: string; pos: number }
  | { t: "ident"; value: string; pos: number };

function syntaxError(pos: number, reason: string): ValidationError {
  return ValidationError.of(FIELD, `template error at character ${pos + 1}: ${reason}`);
}

const isSpace = (c: string | undefined) => c === " " || c === "\t" || c === "\r" || c === "\n";
const IDENT = /[A-Za-z_][A-Za-z0-9_]*/y;

/** Lexes one action starting after "{{"; returns its tokens, the index after "}}" and whether "-}}" asked for trimming. */
function lexAction(src: string, start: number): { tokens: Token[]; end: number; trimRight: boolean } {
  const tokens: Token[] = [];
  let i = start;
  for (;;) {
    while (isSpace(src[i])) i++;
    if (i >= src.length) throw syntaxError(start, `unclosed action (missing "}}")`);
    if (src.startsWith("}}", i)) return { tokens, end: i + 2, trimRight: false };
    if (src.startsWith("-}}", i) && isSpace(src[i - 1])) return { tokens, end: i + 3, trimRight: true };
    const c = src[i];
    const pos = i;
    if (c === "(") {
      tokens.push({ t: "lparen", pos });
      i++;
      continue;
    }
    if (c === ")") {
      tokens.push({ t: "rparen", pos });
      i++;
      continue;
    }
    if (c === "|") {
      tokens.push({ t: "pipe", pos });
      i++;
      continue;
    }
    if (c === '"') {
      let value = "";
      i++;
      for (;;) {
        const ch = src[i];
        if (ch === undefined || ch === "\n") throw syntaxError(pos, "unterminated string");
        if (ch === '"') {
          i++;
          break;
        }
        if (ch === "\\") {
          const escaped: Record<string, string> = { "\\": "\\", '"': '"', "'": "'", n: "\n", t: "\t", r: "\r" };
          const next = src[i + 1];
          if (next === undefined || !(next in escaped)) throw syntaxError(i, `unsupported escape in string`);
          value += escaped[next];
          i += 2;
          continue;
        }
        value += ch;
        i++;
      }
      tokens.push({ t: "string", value, pos });
      continue;
    }
    if (c === "`") {
      const close = src.indexOf("`", i + 1);
      if (close < 0) throw syntaxError(pos, "unterminated raw string");
      tokens.push({ t: "string", value: src.slice(i + 1, close), pos });
      i = close + 1;
      continue;
    }
    const number = /-?\d+/y;
    number.lastIndex = i;
    const numberMatch = number.exec(src);
    if (numberMatch) {
      i = number.lastIndex;
      if (/[A-Za-z0-9_.]/.test(src[i] ?? "")) throw syntaxError(pos, "only whole-number literals are supported");
      tokens.push({ t: "number", value: Number(numberMatch[0]), pos });
      continue;
    }
    if (c === ".") {
      IDENT.lastIndex = i + 1;
      const field = IDENT.exec(src);
      if (!field) throw syntaxError(pos, `"." must be followed by a field name (${FIELDS.map((f) => "." + f).join(", ")})`);
      tokens.push({ t: "field", value: field[0], pos });
      i = IDENT.lastIndex;
      continue;
    }
    IDENT.lastIndex = i;
    const ident = IDENT.exec(src);
    if (ident) {
      i = IDENT.lastIndex;
      if (ident[0] === "true" || ident[0] === "false") tokens.push({ t: "bool", value: ident[0] === "true", pos });
      else tokens.push({ t: "ident", value: ident[0], pos });
      continue;
    }
    throw syntaxError(pos, `unexpected ${quoteValue(c)}`);
  }
}

// ---------------------------------------------------------------- parser

type Action =
  { kind: "if" | "elseif"; pipeline: Pipeline; pos: number } | { kind: "else" | "end"; pos: number } | { kind: "output"; pipeline: Pipeline; pos: number };

function parseTemplate(src: string): TemplateNode[] {
  if (typeof src !== "string") throw ValidationError.of(FIELD, "must be a string");
  const root: TemplateNode[] = [];
  const open: { node: Extract<TemplateNode, { kind: "if" }>; pos: number; inElse: boolean }[] = [];
  let body = root;
  let i = 0;
  let trimNextText = false;
  while (i < src.length) {
    const actionStart = src.indexOf("{{", i);
    let text = src.slice(i, actionStart < 0 ? src.length : actionStart);
    if (trimNextText) text = text.replace(/^[ \t\r\n]+/, "");
    if (actionStart < 0) {
      if (text) body.push({ kind: "text", text });
      break;
    }
    let contentStart = actionStart + 2;
    if (src[contentStart] === "-" && isSpace(src[contentStart + 1])) {
      text = text.replace(/[ \t\r\n]+$/, "");
      contentStart += 1;
    }
    if (text) body.push({ kind: "text", text });
    if (src.startsWith("/*", contentStart) || src.startsWith(" /*", contentStart)) {
      throw syntaxError(actionStart, "comments are not supported");
    }
    const { tokens, end, trimRight } = lexAction(src, contentStart);
    const action = parseAction(tokens, actionStart);
    switch (action.kind) {
      case "output":
        body.push({ kind: "output", pipeline: action.pipeline });
        break;
      case "if": {
        const node: Extract<TemplateNode, { kind: "if" }> = { kind: "if", branches: [{ condition: action.pipeline, body: [] }], otherwise: [] };
        body.push(node);
        open.push({ node, pos: action.pos, inElse: false });
        body = node.branches[0].body;
        break;
      }
      case "elseif":
      case "else": {
        const frame = open[open.length - 1];
        if (!frame) throw syntaxError(action.pos, `unexpected {{else}} outside {{if}}`);
        if (frame.inElse) throw syntaxError(action.pos, `{{else}} after {{else}} in the same {{if}}`);
        if (action.kind === "elseif") {
          const branch = { condition: action.pipeline, body: [] as TemplateNode[] };
          frame.node.branches.push(branch);
          body = branch.body;
        } else {
          frame.inElse = true;
          body = frame.node.otherwise;
        }
        break;
      }
      case "end": {
        if (!open.pop()) throw syntaxError(action.pos, `unexpected {{end}}`);
        const parent = open[open.length - 1];
        body = parent ? (parent.inElse ? parent.node.otherwise : parent.node.branches[parent.node.branches.length - 1].body) : root;
        break;
      }
    }
    i = end;
    trimNextText = trimRight;
  }
  const unclosed = open[open.length - 1];
  if (unclosed) throw syntaxError(unclosed.pos, `{{if}} without {{end}}`);
  return root;
}

function parseAction(tokens: Token[], pos: number): Action {
  const first = tokens[0];
  if (!first) throw syntaxError(pos, "empty action");
  if (first.t === "ident" && (first.value === "if" || first.value === "else" || first.value === "end")) {
    if (first.value === "end") {
      if (tokens.length > 1) throw syntaxError(tokens[1].pos, "unexpected tokens after end");
      return { kind: "end", pos };
    }
    if (first.value === "else") {
      if (tokens.length === 1) return { kind: "else", pos };
      const second = tokens[1];
      if (second.t !== "ident" || second.value !== "if") throw syntaxError(second.pos, `expected "if" or "}}" after else`);
      return { kind: "elseif", pipeline: parseFullPipeline(tokens.slice(2), second.pos), pos };
    }
    return { kind: "if", pipeline: parseFullPipeline(tokens.slice(1), first.pos), pos };
  }
  return { kind: "output", pipeline: parseFullPipeline(tokens, pos), pos };
}

function parseFullPipeline(tokens: Token[], pos: number): Pipeline {
  if (tokens.length === 0) throw syntaxError(pos, "missing value");
  const reader = new TokenReader(tokens);
  const pipeline = reader.pipeline();
  const extra = reader.peek();
  if (extra) throw syntaxError(extra.pos, extra.t === "rparen" ? `unexpected ")"` : "unexpected token");
  return pipeline;
}

class TokenReader {
  private index = 0;
  constructor(private readonly tokens: Token[]) {}

  peek(): Token | undefined {
    return this.tokens[this.index];
  }

  pipeline(): Pipeline {
    const commands: Pipeline = [];
    let pipedType: ValueType | undefined;
    for (;;) {
      const command = this.command(pipedType);
      commands.push(command);
      pipedType = staticType(command);
      const next = this.peek();
      if (next?.t !== "pipe") return commands;
      this.index++;
    }
  }

  /** One command; pipedType is set when a previous command's value is appended as the last argument. */
  private command(pipedType: ValueType | undefined): Operand {
    const start = this.peek();
    const operands: Operand[] = [];
    for (let next = this.peek(); next && next.t !== "pipe" && next.t !== "rparen"; next = this.peek()) {
      operands.push(this.operand());
    }
    const head = operands[0];
    if (!head || !start) {
      throw syntaxError(start?.pos ?? 0, "missing value for command");
    }
    // A function written as an argument is called without arguments, as in Go.
    for (const arg of operands.slice(1)) if (arg.kind === "call") checkCall(arg, undefined);
    if (head.kind === "call" && head.bare) {
      const call = { ...head, args: operands.slice(1) };
      checkCall(call, pipedType);
      return call;
    }
    if (operands.length > 1) throw syntaxError(operands[1].pos, "can't give argument to non-function");
    if (pipedType !== undefined) throw syntaxError(head.pos, "only a function can follow |");
    return head;
  }

  private operand(): Operand {
    const token = this.tokens[this.index++];
    switch (token.t) {
      case "string":
      case "number":
      case "bool":
        return { kind: "literal", value: token.value, pos: token.pos };
      case "field": {
        if (!(FIELDS as readonly string[]).includes(token.value)) {
          throw syntaxError(token.pos, `unknown field .${token.value} (known: ${FIELDS.map((f) => "." + f).join(", ")})`);
        }
        return { kind: "field", name: token.value as FieldName, pos: token.pos };
      }
      case "ident": {
        if (!(token.value in FUNCTIONS)) throw syntaxError(token.pos, `unknown function ${quoteValue(token.value)}`);
        return { kind: "call", name: token.value, args: [], bare: true, pos: token.pos };
      }
      case "lparen": {
        const pipeline = this.pipeline();
        const close = this.tokens[this.index++];
        if (close?.t !== "rparen") throw syntaxError(token.pos, `unclosed "("`);
        return { kind: "group", pipeline, pos: token.pos };
      }
      case "rparen":
        throw syntaxError(token.pos, `unexpected ")"`);
      case "pipe":
        throw syntaxError(token.pos, `unexpected "|"`);
    }
  }
}

function staticType(operand: Operand): ValueType {
  switch (operand.kind) {
    case "field":
      return "string";
    case "literal":
      return typeof operand.value === "number" ? "int" : typeof operand.value === "boolean" ? "bool" : "string";
    case "call":
      return FUNCTIONS[operand.name].result;
    case "group":
      return staticType(operand.pipeline[operand.pipeline.length - 1]);
  }
}

/** Argument count, argument types and literal values of a call, checked before anything runs. */
function checkCall(call: Extract<Operand, { kind: "call" }>, pipedType: ValueType | undefined): void {
  const spec = FUNCTIONS[call.name];
  const argTypes = call.args.map(staticType);
  if (pipedType !== undefined) argTypes.push(pipedType);
  const tooFew = argTypes.length < spec.params.length;
  const tooMany = spec.rest === undefined && argTypes.length > spec.params.length;
  if (tooFew || tooMany) {
    const expected = spec.rest === undefined ? `${spec.params.length}` : `at least ${spec.params.length}`;
    throw syntaxError(call.pos, `${call.name} takes ${expected} argument(s), got ${argTypes.length}`);
  }
  argTypes.forEach((actual, index) => {
    const wanted = index < spec.params.length ? spec.params[index] : (spec.rest as ValueType);
    if (wanted !== "any" && actual !== "any" && wanted !== actual) {
      throw syntaxError(
        call.pos,
        `${call.name} argument ${index + 1} must be ${wanted === "int" ? "a number" : `a ${wanted}`}, got ${actual === "int" ? "a number" : `a ${actual}`}`,
      );
    }
  });
  const literals = call.args.map((arg) => (arg.kind === "literal" ? arg.value : undefined));
  const problem = spec.checkLiterals?.(literals, argTypes.length);
  if (problem) throw syntaxError(call.pos, problem);
}

// ---------------------------------------------------------------- evaluation

function renderNodes(nodes: TemplateNode[], scope: RenderScope): string {
  let out = "";
  for (const node of nodes) {
    if (node.kind === "text") out += node.text;
    else if (node.kind === "output") out += String(evalPipeline(node.pipeline, scope));
    else {
      const branch = node.branches.find((b) => isTruthy(evalPipeline(b.condition, scope)));
      out += renderNodes(branch ? branch.body : node.otherwise, scope);
    }
  }
  return out;
}

// Go's truth: false, 0 and "" are false.
function isTruthy(value: Value): boolean {
  return value !== false && value !== 0 && value !== "";
}

function evalPipeline(pipeline: Pipeline, scope: RenderScope): Value {
  let value = evalOperand(pipeline[0], scope, undefined);
  for (const command of pipeline.slice(1)) value = evalOperand(command, scope, { value });
  return value;
}

function evalOperand(operand: Operand, scope: RenderScope, piped: { value: Value } | undefined): Value {
  switch (operand.kind) {
    case "field":
      return scope.fields[operand.name];
    case "literal":
      return operand.value;
    case "group":
      return evalPipeline(operand.pipeline, scope);
    case "call": {
      const args = operand.args.map((arg) => evalOperand(arg, scope, undefined));
      if (piped) args.push(piped.value);
      return FUNCTIONS[operand.name].run(args, scope);
    }
  }
}
