/**
 * The search box's state: the query, the aircraft it highlights and the
 * few shown as results. Re-run as the store changes. No DOM.
 *
 * @module
 */
import type { Flight } from "../../contracts/flight.ts";
import { searchFlights } from "./filters.ts";
import type { FlightStore } from "./flight_store.ts";

/** Results listed under the search box. */
const SHOWN = 8;

export class Search {
  #query = "";
  #highlight: Set<string> | null = null;
  #results: Flight[] = [];

  get query(): string {
    return this.#query;
  }

  /** icao24 of every match, null without a query (nothing is dimmed). */
  get highlight(): Set<string> | null {
    return this.#highlight;
  }

  get results(): Flight[] {
    return this.#results;
  }

  get active(): boolean {
    return this.#query !== "";
  }

  set(query: string, store: FlightStore): void {
    this.#query = query;
    this.refresh(store);
  }

  refresh(store: FlightStore): void {
    if (this.#query.trim() === "") {
      this.#highlight = null;
      this.#results = [];
      return;
    }
    const flights = [...store.flights.values()].map((t) => t.flight);
    const all = searchFlights(flights, this.#query, 10_000);
    this.#highlight = new Set(all.map((f) => f.icao24));
    this.#results = all.slice(0, SHOWN);
  }
}
