// The live feed of ticket events: one subscription for the whole app, resumed after a drop
// from the last event seen (`after`), so a reconnect replays what was missed instead of
// losing it. Transport-free: `subscribe` is given, so tests drive it with a fake. A feed of
// values without ids (the inbox's unread count, which the server sends afresh on every
// subscription) reconnects the same way and resumes from nothing.

/** What the header shows. */
export type LiveStatus = "connecting" | "live" | "reconnecting" | "ended";

export interface Sink<E> {
  next(event: E): void;
  error(error: unknown): void;
  complete(): void;
}

/** Starts one subscription resuming after `after`; returns its stop function. */
export type Subscribe<E> = (after: string | null, sink: Sink<E>) => () => void;

export interface LiveFeedOptions<E> {
  subscribe: Subscribe<E>;
  onEvent(event: E): void;
  onStatus?(status: LiveStatus): void;
  /**
   * The connection came back after a drop before any event arrived: there is no `after` to
   * resume from, so whatever is on screen must be read again.
   */
  onResync?(): void;
  /** True once the session is over (socket closed with 4403): then nothing resubscribes. */
  sessionEnded(): boolean;
  /** Waits between reconnect attempts, in ms; the last one repeats. */
  delays?: readonly number[];
  setTimer?(run: () => void, ms: number): unknown;
  clearTimer?(timer: unknown): void;
}

/** How many recent event ids are remembered to drop a replayed duplicate. */
const REMEMBERED = 1000;

export class LiveFeed<E extends { id?: string }> {
  private lastId: string | null = null;
  private seen = new Set<string>();
  private stopCurrent: (() => void) | null = null;
  private timer: unknown = null;
  private attempt = 0;
  private running = false;
  /** A drop happened since the last connection. */
  private dropped = false;
  private readonly delays: readonly number[];

  constructor(private readonly options: LiveFeedOptions<E>) {
    this.delays = options.delays ?? [500, 1000, 2000, 5000, 10000];
  }

  /** The id of the last event delivered, sent as `after` on the next (re)subscription. */
  get after(): string | null {
    return this.lastId;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.options.onStatus?.("connecting");
    this.connect();
  }

  stop(): void {
    this.running = false;
    if (this.timer !== null) (this.options.clearTimer ?? clearTimeout)(this.timer as ReturnType<typeof setTimeout>);
    this.timer = null;
    const stop = this.stopCurrent;
    this.stopCurrent = null;
    stop?.();
  }

  /** The socket is open again: reconnect waits start from the shortest. */
  connected(): void {
    if (!this.running) return;
    this.attempt = 0;
    this.options.onStatus?.("live");
    if (this.dropped) {
      this.dropped = false;
      // With an `after` the server replays what was missed; without one, nothing can.
      if (this.lastId === null) this.options.onResync?.();
    }
  }

  private connect(): void {
    let done = false;
    const finish = () => {
      if (done) return false;
      done = true;
      this.stopCurrent = null;
      return this.running;
    };
    this.stopCurrent = this.options.subscribe(this.lastId, {
      next: (event) => {
        if (done || !this.running) return;
        this.attempt = 0;
        if (event.id !== undefined) {
          if (this.seen.has(event.id)) return;
          this.remember(event.id);
        }
        this.options.onEvent(event);
      },
      error: () => {
        if (finish()) this.retry();
      },
      complete: () => {
        // The server ends this subscription only when it is going away: resume like a drop.
        if (finish()) this.retry();
      },
    });
  }

  private remember(id: string): void {
    this.lastId = id;
    this.seen.add(id);
    if (this.seen.size > REMEMBERED) {
      const oldest = this.seen.values().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
  }

  private retry(): void {
    if (this.options.sessionEnded()) {
      this.running = false;
      this.options.onStatus?.("ended");
      return;
    }
    this.dropped = true;
    this.options.onStatus?.("reconnecting");
    const wait = this.delays[Math.min(this.attempt, this.delays.length - 1)];
    this.attempt += 1;
    this.timer = (this.options.setTimer ?? setTimeout)(() => {
      this.timer = null;
      if (this.running) this.connect();
    }, wait);
  }
}
