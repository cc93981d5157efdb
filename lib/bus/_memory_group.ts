/**
 * The memory bus' consumer groups: members, the round-robin dealing of
 * partitions (again at every join and leave), one position per partition
 * shared by the group, and one batch in flight per partition. Private to
 * lib/bus/memory.ts.
 *
 * @module
 */
import type { BusBatch, TopicPartition } from "./types.ts";
import { indexFrom, logStart, toBusMessage, type TopicLog } from "./_memory_log.ts";

/** What a group needs from a member (a subscription). */
export interface GroupMember {
  readonly topics: readonly string[];
  readonly fromBeginning: boolean;
  /** Something changed (new messages, a rebalance, a released partition): look for work. */
  wake(): void;
}

export const tpKey = (topic: string, partition: number) => `${topic}\u0000${partition}`;

/** A batch handed to one member; its partition is busy until released. */
export interface Claim {
  key: string;
  batch: BusBatch;
  /** Position after the batch. */
  next: number;
}

/**
 * The shared state of one consumer group: members, the partition dealing,
 * the position per partition and which partitions have a batch in flight.
 */
export class MemoryGroup {
  #members: GroupMember[] = [];
  #assignment = new Map<GroupMember, TopicPartition[]>();
  #positions = new Map<string, number>();
  #busy = new Set<string>();
  #topicLog: (topic: string) => TopicLog;

  constructor(topicLog: (topic: string) => TopicLog) {
    this.#topicLog = topicLog;
  }

  get empty(): boolean {
    return this.#members.length === 0;
  }

  join(member: GroupMember): void {
    this.#members.push(member);
    this.#rebalance();
  }

  leave(member: GroupMember): void {
    this.#members = this.#members.filter((m) => m !== member);
    this.#assignment.delete(member);
    this.#rebalance();
  }

  assignments(member: GroupMember): TopicPartition[] {
    return this.#assignment.get(member) ?? [];
  }

  /** Deals partitions round-robin over the members subscribed to their topic. */
  #rebalance(): void {
    const dealt = new Map<GroupMember, TopicPartition[]>(
      this.#members.map((m) => [m, []]),
    );
    const topics = [...new Set(this.#members.flatMap((m) => m.topics))].sort();
    let turn = 0;
    for (const topic of topics) {
      const eligible = this.#members.filter((m) => m.topics.includes(topic));
      const log = this.#topicLog(topic);
      for (let partition = 0; partition < log.partitions.length; partition++) {
        const member = eligible[turn++ % eligible.length]!;
        dealt.get(member)!.push({ topic, partition });
        const key = tpKey(topic, partition);
        if (!this.#positions.has(key)) {
          this.#positions.set(key, member.fromBeginning ? 0 : log.partitions[partition]!.next);
        }
      }
    }
    this.#assignment = dealt;
    for (const member of this.#members) member.wake();
  }

  /** The next batch for `member` from its first partition (after `cursor`) with work. */
  claim(member: GroupMember, options: { cursor: number; max: number }): Claim | undefined {
    const assigned = this.assignments(member);
    for (let i = 0; i < assigned.length; i++) {
      const { topic, partition } = assigned[(options.cursor + i) % assigned.length]!;
      const key = tpKey(topic, partition);
      if (this.#busy.has(key)) continue;
      const log = this.#topicLog(topic).partitions[partition]!;
      const position = Math.max(this.#positions.get(key) ?? 0, logStart(log));
      const from = indexFrom(log, position);
      if (from >= log.entries.length) continue;
      const stored = log.entries.slice(from, from + options.max);
      this.#busy.add(key);
      const messages = stored.map((s) => toBusMessage(topic, partition, s));
      return {
        key,
        next: stored[stored.length - 1]!.offset + 1,
        batch: {
          topic,
          partition,
          messages,
          highWatermark: String(log.next),
          heartbeat: () => Promise.resolve(),
        },
      };
    }
    return undefined;
  }

  commit(claim: Claim): void {
    this.#positions.set(claim.key, claim.next);
  }

  /** Frees the partition; another member may hold it now (after a rebalance), so wake all. */
  release(claim: Claim): void {
    this.#busy.delete(claim.key);
    for (const member of this.#members) member.wake();
  }

  lag(member: GroupMember): number {
    let lag = 0;
    for (const { topic, partition } of this.assignments(member)) {
      const log = this.#topicLog(topic).partitions[partition]!;
      const position = Math.max(this.#positions.get(tpKey(topic, partition)) ?? 0, logStart(log));
      lag += Math.max(0, log.next - position);
    }
    return lag;
  }
}
