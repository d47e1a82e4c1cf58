/**
 * `tsuv --help`, derived from the option table (src/options.ts) and laid out as click lays out
 * uvicorn's: a usage line, then the options section by section, each description wrapped beside
 * its flag within 80 columns, and no colour. citty's renderUsage, used before, wrote every option
 * on one line padded to the longest description (276 columns, so a terminal wrapped it into a
 * jumble), ignored the sections, and coloured its output even into a pipe or a file.
 */
import { aliasFlags, envVarName, isNegatable, OPTIONS, type OptionSpec, type ValueKind } from "./options.ts";

const VALUE_HINTS: Record<ValueKind, string> = {
  string: "TEXT",
  int: "INTEGER",
  float: "FLOAT",
  bool: "",
  enum: "",
  list: "TEXT",
};

/**
 * How an option is written, as click writes uvicorn's: `--port INTEGER`, `--worker-class
 * [process|thread]`, `--access-log / --no-access-log` (a boolean that is on by default, or says it
 * switches both ways), `-h, --help`. Shared by `--help` and docs/settings.md.
 */
export function optionSynopsis(name: string, spec: OptionSpec): string {
  if (spec.type === "positional") return spec.valueHint ?? name.toUpperCase();
  const flags = [...aliasFlags(spec), `--${name}`];
  if (spec.type === "boolean") {
    return isNegatable(spec) ? `${flags.join(", ")} / --no-${name}` : flags.join(", ");
  }
  const hint =
    spec.valueHint ??
    (spec.kind === "enum"
      ? `[${(spec as { options: string[] }).options.join("|")}]`
      : VALUE_HINTS[spec.kind]);
  return `${flags.join(", ")} ${hint}`;
}

/** click's layout: 80 columns, a flag column of at most 30, two spaces between the columns. */
const WIDTH = 80;
const INDENT = 2;
const FLAG_COLUMN_MAX = 30;
const GAP = 2;

/** Words of `text` in lines of at most `width` characters (a longer word gets a line of its own). */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

function defaultNote(spec: OptionSpec): string {
  if (spec.type === "positional" || spec.default === undefined || spec.default === false) return "";
  return `[default: ${spec.default === true ? "on" : String(spec.default)}]`;
}

interface Row {
  flag: string;
  description: string;
  /** Kept on one line, after the description (click's `[default: ...]`). */
  note: string;
}

/** Rows in two columns: the flag, then its description starting at `descriptionAt`. */
function table(rows: Row[], descriptionAt: number): string[] {
  const width = WIDTH - descriptionAt;
  const out: string[] = [];
  for (const { flag, description, note } of rows) {
    const lines = wrap(description, width);
    const last = lines.length - 1;
    if (note && last >= 0 && (lines[last] as string).length + GAP + note.length <= width)
      lines[last] += `${" ".repeat(GAP)}${note}`;
    else if (note) lines.push(note);
    const head = " ".repeat(INDENT) + flag;
    if (head.length + GAP > descriptionAt) out.push(head);
    else out.push(`${head.padEnd(descriptionAt)}${lines.shift() ?? ""}`.trimEnd());
    for (const line of lines) out.push(" ".repeat(descriptionAt) + line);
  }
  return out;
}

export function renderHelp(description: string, version: string): string {
  const app = OPTIONS.app;
  // Sections in the table's order, the app's own first (the positional leads the table).
  const sections = new Map<string, Row[]>();
  for (const [name, spec] of Object.entries(OPTIONS) as [string, OptionSpec][]) {
    const rows = sections.get(spec.group) ?? [];
    sections.set(spec.group, rows);
    if (spec.type !== "positional")
      rows.push({
        flag: optionSynopsis(name, spec),
        description: spec.description ?? "",
        note: defaultNote(spec),
      });
  }
  // One flag column for the whole text, as wide as the longest flag that fits in 30.
  const fitting = [...sections.values()]
    .flat()
    .map((row) => row.flag.length)
    .filter((length) => length <= FLAG_COLUMN_MAX);
  const descriptionAt = INDENT + Math.max(0, ...fitting) + GAP;
  const paragraph = (text: string) => wrap(text, WIDTH - INDENT).map((line) => " ".repeat(INDENT) + line);
  const lines = [
    `Usage: tsuv [OPTIONS] ${optionSynopsis("app", app)}`,
    "",
    ...paragraph(`${description} (tsuv ${version})`),
    "",
    ...paragraph(`${optionSynopsis("app", app)}: ${app.description}`),
    ...paragraph(
      `Every option can also be set in the environment as TSUV_<NAME> (e.g. ${envVarName("port")}=8080, ${envVarName("access-log")}=false); the command line wins; an empty value counts as unset.`,
    ),
  ];
  for (const [section, rows] of sections) lines.push("", `${section}:`, ...table(rows, descriptionAt));
  return lines.join("\n");
}
