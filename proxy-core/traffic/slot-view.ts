import type { RefusalReason } from '../contract/traffic.ts';
import type { Filterable } from './log-filter.ts';
import { buildUrl } from './log-record.ts';
import {
  API,
  CONSUMER,
  ERROR,
  METHOD,
  PORT,
  REASON,
  ROUTE,
  STATUS,
  TEXT_HOST,
  TEXT_ID,
  TEXT_TARGET,
  TIER,
} from './record-layout.ts';
import type { RecordStore } from './record-store.ts';

/**
 * One slot as log filters see it: numbers and shared strings are read on access, text is
 * decoded only if a filter asks for the host, URL or id.
 */
export class SlotView implements Filterable {
  #slot = 0;
  #text: string[] | undefined;

  constructor(readonly store: RecordStore) {}

  at(slot: number): this {
    this.#slot = slot;
    this.#text = undefined;
    return this;
  }

  get id() {
    return this.#textField(TEXT_ID);
  }
  get method() {
    return this.store.shared(this.#slot, METHOD) as string;
  }
  get host() {
    return this.#textField(TEXT_HOST);
  }
  get url() {
    const port = this.store.number(this.#slot, PORT);
    return buildUrl(this.store.scheme(this.#slot), this.host, port, this.#textField(TEXT_TARGET));
  }
  get status() {
    return this.store.number(this.#slot, STATUS);
  }
  get decision() {
    return this.store.decision(this.#slot);
  }
  get reason() {
    return this.store.shared(this.#slot, REASON) as RefusalReason | undefined;
  }
  get api() {
    return this.store.shared(this.#slot, API) as string | undefined;
  }
  get route() {
    return this.store.shared(this.#slot, ROUTE) as string | undefined;
  }
  get consumer() {
    return this.store.shared(this.#slot, CONSUMER) as string | undefined;
  }
  get tier() {
    return this.store.shared(this.#slot, TIER) as string | undefined;
  }
  get error() {
    return this.store.shared(this.#slot, ERROR) as string | undefined;
  }

  #textField(index: number): string {
    this.#text ??= this.store.textOf(this.#slot);
    return this.#text[index]!;
  }
}
