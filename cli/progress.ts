// Progress on stderr while the engine runs. On a terminal: one spinner line with the
// step (the service's last progress line) and the engine's current resource step,
// e.g. `⠹ issuing iam_user credentials for role "dev" · creating AwsLease (2s)`. It is
// cleared when the command ends or anything else is written to stderr. Anywhere else
// (CI logs, pipes, files, TERM=dumb): the plain progress lines, one per step.
//
// Hand-written, not a spinner package: nanospinner and yocto-spinner/ora exit the
// process on SIGINT, which would cut short the graceful engine cancel (the pulumi run
// must finish its AWS calls and roll back: service/pulumi/interrupts.ts), and
// nanospinner decides on a terminal by stdout, which `eval "$(awslease issue ...)"` pipes.

/** What the service reports: lines (the steps) and the engine's transient status. */
export interface Progress {
  line(text: string): void;
  status(text: string): void;
  stop(): void;
}

export const SPINNER_FRAMES = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
const FRAME_MS = 80;

type Stream = Pick<NodeJS.WriteStream, "write"> & { isTTY?: boolean; columns?: number };

/** A spinner only for a terminal that can draw one; plain lines otherwise. */
export function progressOn(stream: Stream, env: NodeJS.ProcessEnv = process.env, now: () => number = Date.now): Progress {
  if (!stream.isTTY || env.TERM === "dumb") return { line: (text) => void stream.write(`${text}\n`), status: () => {}, stop: () => {} };
  return new Spinner(stream, !("NO_COLOR" in env) || env.NO_COLOR === "", now);
}

class Spinner implements Progress {
  private step = "";
  private detail = "";
  private started = 0;
  private frame = 0;
  private timer: NodeJS.Timeout | undefined;
  private drawn = false;
  private readonly write: Stream["write"];
  /** The stream's own `write` property before ours, if it had one (else the prototype's is used). */
  private ownWrite: PropertyDescriptor | undefined;

  constructor(
    private readonly stream: Stream,
    private readonly color: boolean,
    private readonly now: () => number,
  ) {
    this.write = stream.write.bind(stream) as Stream["write"];
  }

  line(text: string): void {
    // The engine's own step replaces the "(pulumi up STACK)" of the line: one row is short.
    this.step = text.replace(/^awslease: /, "").replace(/ \(pulumi (up|destroy) [^)]*\)$/, "");
    this.detail = "";
    this.started = this.now();
    if (!this.timer) this.start();
    this.render();
  }

  status(text: string): void {
    if (text === this.detail) return;
    this.detail = text;
    if (this.timer) this.render();
  }

  stop(): void {
    if (!this.timer) return;
    clearInterval(this.timer);
    this.timer = undefined;
    this.clear();
    if (this.ownWrite) Object.defineProperty(this.stream, "write", this.ownWrite);
    else delete (this.stream as { write?: unknown }).write;
  }

  private start(): void {
    this.timer = setInterval(() => this.render(), FRAME_MS);
    this.timer.unref();
    // Anything else written to the stream (a warning, an error) first clears the spinner line.
    const write = this.write;
    this.ownWrite = Object.getOwnPropertyDescriptor(this.stream, "write");
    (this.stream as { write: Stream["write"] }).write = ((...args: Parameters<Stream["write"]>) => {
      this.clear();
      return write(...(args as [string]));
    }) as Stream["write"];
  }

  private render(): void {
    const seconds = Math.floor((this.now() - this.started) / 1000);
    const frame = SPINNER_FRAMES[this.frame++ % SPINNER_FRAMES.length];
    const text = `${this.step}${this.detail ? ` · ${this.detail}` : ""} (${seconds}s)`;
    // One terminal row at most: a wrapped line could not be cleared with \r.
    const width = Math.max(20, (this.stream.columns || 80) - 3);
    const shown = text.length > width ? `${text.slice(0, width - 1)}…` : text;
    this.write(`\r\x1b[2K${this.color ? `\x1b[36m${frame}\x1b[39m` : frame} ${shown}`);
    this.drawn = true;
  }

  private clear(): void {
    if (!this.drawn) return;
    this.write("\r\x1b[2K");
    this.drawn = false;
  }
}
