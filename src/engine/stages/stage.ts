/**
 * Output stages: what stands between the output queue and the socket when a script asks for
 * pacing, slicing or a byte limit (toxiproxy's toxics, each a small `Pipe` between input and
 * output). A session that sets none has no stage: its output is written as before.
 *
 * The chain is fixed: limit, then chunk, then rate, then the socket. Each stage gets a piece,
 * passes it (whole, split, or cut) to `next`, and resolves once it has; `pause` waits without
 * counting against the send timeout and ends early when the output is given up.
 *
 * @module
 */

/** Passes a piece on (to the next stage, or to the socket); resolves once it was handed on. */
export type Next = (piece: Uint8Array) => Promise<void>;

/** Waits `ms` milliseconds (ends early when the output is given up). */
export type Pause = (ms: number) => Promise<void>;

/** One stage of the output. */
export interface OutputStage {
  /** Passes `piece` on through `next`, maybe split, delayed or cut. */
  write(piece: Uint8Array, next: Next, pause: Pause): Promise<void>;
  /** Called once when the stage is put in place (before any piece reaches it). */
  start?(): void;
}

/** The places a stage can take, in the order a piece goes through them. */
export type StageSlot = "limit" | "chunk" | "rate";

const ORDER: readonly StageSlot[] = ["limit", "chunk", "rate"];

/**
 * The stages in place, by slot. Setting a slot replaces its stage; null removes it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Stages } from "./stage.ts";
 * import { ChunkStage } from "./chunk.ts";
 * const stages = new Stages();
 * stages.set("chunk", new ChunkStage(2, 0));
 * const seen: string[] = [];
 * const sink = (p: Uint8Array) => (seen.push(new TextDecoder().decode(p)), Promise.resolve());
 * await stages.send(new TextEncoder().encode("abcde"), sink, () => Promise.resolve());
 * assert.deepEqual(seen, ["ab", "cd", "e"]);
 * ```
 */
export class Stages {
  #slots: Partial<Record<StageSlot, OutputStage>> = {};
  #chain: OutputStage[] = [];

  /** True when no stage is in place. */
  get empty(): boolean {
    return this.#chain.length === 0;
  }

  /** Puts `stage` in `slot` (null: removes what is there). */
  set(slot: StageSlot, stage: OutputStage | null): void {
    if (stage) this.#slots[slot] = stage;
    else delete this.#slots[slot];
    this.#chain = ORDER.flatMap((s) => this.#slots[s] ? [this.#slots[s]!] : []);
    stage?.start?.();
  }

  /** Sends `piece` through every stage in order, then to `sink`. */
  send(piece: Uint8Array, sink: Next, pause: Pause): Promise<void> {
    const chain = this.#chain;
    const at = (i: number): Next =>
      i === chain.length ? sink : (p) => chain[i].write(p, at(i + 1), pause);
    return at(0)(piece);
  }
}
