/**
 * Progress of a long command: a redrawn bar on a terminal, a plain line every few seconds otherwise (a Slurm or
 * Kubernetes log, a pipe), both with throughput and an ETA.
 */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

export interface ProgressOptions {
  /** Where to write (default process.stderr). */
  stream?: NodeJS.WriteStream;
  /** Seconds between plain lines when the stream is not a terminal (default 10). */
  interval?: number;
  /** No output at all. */
  quiet?: boolean;
}

export class Progress {
  private done = 0;
  private readonly t0 = Date.now();
  private lastLine = 0;
  private readonly stream: NodeJS.WriteStream;
  private readonly tty: boolean;

  constructor(
    private readonly label: string,
    private readonly total: number,
    /** Items already done before this run started (a resume): counted as done, not in the rate. */
    private readonly resumed: number,
    private readonly opts: ProgressOptions = {},
  ) {
    this.stream = opts.stream ?? process.stderr;
    this.tty = Boolean(this.stream.isTTY);
    this.done = resumed;
    if (resumed > 0 && !opts.quiet) this.stream.write(`${label}: resuming, ${resumed}/${total} already done\n`);
  }

  update(done: number): void {
    this.done = Math.min(this.total, done);
    if (this.opts.quiet) return;
    const now = Date.now();
    if (this.tty) {
      if (now - this.lastLine < 100 && this.done < this.total) return;
      this.lastLine = now;
      const width = 30;
      const fill = this.total > 0 ? Math.round((width * this.done) / this.total) : width;
      this.stream.write(`\r${this.label} [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${this.status()}\x1b[K`);
    } else if (now - this.lastLine >= (this.opts.interval ?? 10) * 1000) {
      this.lastLine = now;
      this.stream.write(`${new Date(now).toISOString()} ${this.label}: ${this.status()}\n`);
    }
  }

  finish(): void {
    if (this.opts.quiet) return;
    const line = `${this.label}: ${this.status()}, ${formatDuration((Date.now() - this.t0) / 1000)} in all`;
    this.stream.write(this.tty ? `\r${line}\x1b[K\n` : `${line}\n`);
  }

  private status(): string {
    const seconds = (Date.now() - this.t0) / 1000;
    // No rate from the first half second: one early update would claim millions per second.
    const rate = seconds >= 0.5 ? (this.done - this.resumed) / seconds : 0;
    const pct = this.total > 0 ? ((100 * this.done) / this.total).toFixed(1) : '100.0';
    const eta = rate > 0 ? formatDuration((this.total - this.done) / rate) : '?';
    return `${this.done}/${this.total} (${pct}%) ${rate > 0 ? rate.toFixed(1) : '?'}/s ETA ${eta}`;
  }
}
