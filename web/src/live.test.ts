import { describe, expect, it } from "vitest";
import { LiveFeed, type LiveStatus, type Sink } from "./live";

interface Event {
  id: string;
}

/** A fake transport: records each subscription's `after`, lets the test push into it. */
function harness(options: { ended?: () => boolean } = {}) {
  const subscriptions: { after: string | null; sink: Sink<Event>; stopped: boolean }[] = [];
  const timers: { run: () => void; ms: number; cleared: boolean }[] = [];
  const events: string[] = [];
  const statuses: LiveStatus[] = [];
  let resyncs = 0;
  const feed = new LiveFeed<Event>({
    subscribe: (after, sink) => {
      const entry = { after, sink, stopped: false };
      subscriptions.push(entry);
      return () => {
        entry.stopped = true;
      };
    },
    onEvent: (e) => events.push(e.id),
    onStatus: (s) => statuses.push(s),
    onResync: () => {
      resyncs += 1;
    },
    sessionEnded: options.ended ?? (() => false),
    delays: [100, 200, 400],
    setTimer: (run, ms) => {
      const timer = { run, ms, cleared: false };
      timers.push(timer);
      return timer;
    },
    clearTimer: (timer) => {
      (timer as { cleared: boolean }).cleared = true;
    },
  });
  const fire = () => {
    const timer = timers.find((t) => !t.cleared && t.run);
    if (!timer) throw new Error("no timer pending");
    timer.cleared = true;
    timer.run();
  };
  return { feed, subscriptions, timers, events, statuses, fire, resyncs: () => resyncs };
}

describe("LiveFeed", () => {
  it("subscribes from the start, then delivers events", () => {
    const h = harness();
    h.feed.start();
    expect(h.subscriptions.map((s) => s.after)).toEqual([null]);
    h.subscriptions[0].sink.next({ id: "5" });
    h.subscriptions[0].sink.next({ id: "6" });
    expect(h.events).toEqual(["5", "6"]);
    expect(h.feed.after).toBe("6");
  });

  it("after a drop, resubscribes with `after` = the last event seen", () => {
    const h = harness();
    h.feed.start();
    h.subscriptions[0].sink.next({ id: "7" });
    h.subscriptions[0].sink.error({ code: 4008 });
    expect(h.statuses.at(-1)).toBe("reconnecting");
    expect(h.subscriptions).toHaveLength(1);
    h.fire();
    expect(h.subscriptions.map((s) => s.after)).toEqual([null, "7"]);
    // A completed subscription (the server going away) resumes the same way.
    h.subscriptions[1].sink.next({ id: "9" });
    h.subscriptions[1].sink.complete();
    h.fire();
    expect(h.subscriptions.map((s) => s.after)).toEqual([null, "7", "9"]);
  });

  it("reconnected before any event arrived, asks for what is on screen to be read again", () => {
    const h = harness();
    h.feed.start();
    h.feed.connected();
    expect(h.resyncs()).toBe(0);
    h.subscriptions[0].sink.error(new Error("dropped"));
    h.fire();
    h.feed.connected();
    expect(h.subscriptions[1].after).toBeNull();
    expect(h.resyncs()).toBe(1);
    // Once per drop.
    h.feed.connected();
    expect(h.resyncs()).toBe(1);
  });

  it("reconnected with an event seen, resumes after it and leaves the catching up to the server", () => {
    const h = harness();
    h.feed.start();
    h.feed.connected();
    h.subscriptions[0].sink.next({ id: "4" });
    h.subscriptions[0].sink.error(new Error("dropped"));
    h.fire();
    h.feed.connected();
    expect(h.subscriptions[1].after).toBe("4");
    expect(h.resyncs()).toBe(0);
  });

  it("drops an event replayed twice around a reconnect", () => {
    const h = harness();
    h.feed.start();
    h.subscriptions[0].sink.next({ id: "1" });
    h.subscriptions[0].sink.next({ id: "2" });
    h.subscriptions[0].sink.error(new Error("closed"));
    h.fire();
    h.subscriptions[1].sink.next({ id: "2" });
    h.subscriptions[1].sink.next({ id: "3" });
    expect(h.events).toEqual(["1", "2", "3"]);
    expect(h.feed.after).toBe("3");
  });

  it("waits longer after each failed attempt, and from the shortest again once connected", () => {
    const h = harness();
    h.feed.start();
    for (let i = 0; i < 4; i++) {
      h.subscriptions.at(-1)!.sink.error(new Error("refused"));
      h.fire();
    }
    expect(h.timers.map((t) => t.ms)).toEqual([100, 200, 400, 400]);
    h.feed.connected();
    expect(h.statuses.at(-1)).toBe("live");
    h.subscriptions.at(-1)!.sink.error(new Error("dropped"));
    expect(h.timers.at(-1)!.ms).toBe(100);
  });

  it("does not reconnect once the session has ended (4403)", () => {
    let ended = false;
    const h = harness({ ended: () => ended });
    h.feed.start();
    ended = true;
    h.subscriptions[0].sink.error({ code: 4403 });
    expect(h.timers).toHaveLength(0);
    expect(h.statuses.at(-1)).toBe("ended");
  });

  it("stop ends the subscription and any pending reconnect, and ignores late events", () => {
    const h = harness();
    h.feed.start();
    h.feed.stop();
    expect(h.subscriptions[0].stopped).toBe(true);
    h.subscriptions[0].sink.next({ id: "1" });
    expect(h.events).toEqual([]);

    const g = harness();
    g.feed.start();
    g.subscriptions[0].sink.error(new Error("x"));
    g.feed.stop();
    expect(g.timers[0].cleared).toBe(true);
  });

  it("a sink that errors twice schedules one reconnect", () => {
    const h = harness();
    h.feed.start();
    h.subscriptions[0].sink.error(new Error("a"));
    h.subscriptions[0].sink.error(new Error("b"));
    expect(h.timers).toHaveLength(1);
  });
});

describe("LiveFeed of values without ids (the unread count)", () => {
  it("delivers every value, equal ones too, and resubscribes from nothing after a drop", () => {
    const subscriptions: { after: string | null; sink: Sink<{ id?: undefined; count: number }> }[] = [];
    const timers: (() => void)[] = [];
    const counts: number[] = [];
    const feed = new LiveFeed<{ id?: undefined; count: number }>({
      subscribe: (after, sink) => {
        subscriptions.push({ after, sink });
        return () => {};
      },
      onEvent: (value) => counts.push(value.count),
      sessionEnded: () => false,
      delays: [100],
      setTimer: (run) => timers.push(run),
      clearTimer: () => {},
    });
    feed.start();
    subscriptions[0].sink.next({ count: 2 });
    subscriptions[0].sink.next({ count: 2 });
    subscriptions[0].sink.error(new Error("dropped"));
    timers.shift()!();
    // The server sends the count afresh: nothing to resume from.
    subscriptions[1].sink.next({ count: 0 });
    expect(subscriptions.map((s) => s.after)).toEqual([null, null]);
    expect(counts).toEqual([2, 2, 0]);
    expect(feed.after).toBeNull();
  });
});
