/**
 * Country of registration from the 24-bit ICAO address block (ICAO Annex 10
 * Vol. III allocations), for flights whose `origin_country` is null (the
 * bundled recordings have none). Covers the blocks of the states with most
 * traffic; unknown blocks give null. Pure.
 *
 * @module
 */

/** `[first, last, country]`, sorted by `first`. */
const BLOCKS: readonly [number, number, string][] = [
  [0x008000, 0x00ffff, "South Africa"],
  [0x010000, 0x017fff, "Egypt"],
  [0x018000, 0x01ffff, "Libya"],
  [0x020000, 0x027fff, "Morocco"],
  [0x028000, 0x02ffff, "Tunisia"],
  [0x040000, 0x040fff, "Ethiopia"],
  [0x04c000, 0x04cfff, "Kenya"],
  [0x064000, 0x064fff, "Nigeria"],
  [0x06a000, 0x06afff, "Qatar"],
  [0x0a0000, 0x0a7fff, "Algeria"],
  [0x0ac000, 0x0acfff, "Colombia"],
  [0x0b0000, 0x0b0fff, "Cuba"],
  [0x0d0000, 0x0d7fff, "Mexico"],
  [0x0d8000, 0x0dffff, "Venezuela"],
  [0x100000, 0x1fffff, "Russia"],
  [0x300000, 0x33ffff, "Italy"],
  [0x340000, 0x37ffff, "Spain"],
  [0x380000, 0x3bffff, "France"],
  [0x3c0000, 0x3fffff, "Germany"],
  [0x400000, 0x43ffff, "United Kingdom"],
  [0x440000, 0x447fff, "Austria"],
  [0x448000, 0x44ffff, "Belgium"],
  [0x450000, 0x457fff, "Bulgaria"],
  [0x458000, 0x45ffff, "Denmark"],
  [0x460000, 0x467fff, "Finland"],
  [0x468000, 0x46ffff, "Greece"],
  [0x470000, 0x477fff, "Hungary"],
  [0x478000, 0x47ffff, "Norway"],
  [0x480000, 0x487fff, "Netherlands"],
  [0x488000, 0x48ffff, "Poland"],
  [0x490000, 0x497fff, "Portugal"],
  [0x498000, 0x49ffff, "Czechia"],
  [0x4a0000, 0x4a7fff, "Romania"],
  [0x4a8000, 0x4affff, "Sweden"],
  [0x4b0000, 0x4b7fff, "Switzerland"],
  [0x4b8000, 0x4bffff, "Turkey"],
  [0x4c0000, 0x4c7fff, "Serbia"],
  [0x4c8000, 0x4c83ff, "Cyprus"],
  [0x4ca000, 0x4cafff, "Ireland"],
  [0x4cc000, 0x4ccfff, "Iceland"],
  [0x4d0000, 0x4d03ff, "Luxembourg"],
  [0x4d2000, 0x4d23ff, "Malta"],
  [0x4d4000, 0x4d43ff, "Monaco"],
  [0x500000, 0x5003ff, "San Marino"],
  [0x501000, 0x5013ff, "Albania"],
  [0x501c00, 0x501fff, "Croatia"],
  [0x502c00, 0x502fff, "Latvia"],
  [0x503c00, 0x503fff, "Lithuania"],
  [0x504c00, 0x504fff, "Moldova"],
  [0x505c00, 0x505fff, "Slovakia"],
  [0x506c00, 0x506fff, "Slovenia"],
  [0x507c00, 0x507fff, "Uzbekistan"],
  [0x508000, 0x50ffff, "Ukraine"],
  [0x510000, 0x5103ff, "Belarus"],
  [0x511000, 0x5113ff, "Estonia"],
  [0x512000, 0x5123ff, "North Macedonia"],
  [0x513000, 0x5133ff, "Bosnia and Herzegovina"],
  [0x514000, 0x5143ff, "Georgia"],
  [0x600000, 0x6003ff, "Armenia"],
  [0x600800, 0x600bff, "Azerbaijan"],
  [0x683000, 0x6833ff, "Kazakhstan"],
  [0x706000, 0x706fff, "Kuwait"],
  [0x70c000, 0x70c3ff, "Oman"],
  [0x710000, 0x717fff, "Saudi Arabia"],
  [0x718000, 0x71ffff, "South Korea"],
  [0x728000, 0x72ffff, "Iraq"],
  [0x730000, 0x737fff, "Iran"],
  [0x738000, 0x73ffff, "Israel"],
  [0x740000, 0x747fff, "Jordan"],
  [0x748000, 0x74ffff, "Lebanon"],
  [0x750000, 0x757fff, "Malaysia"],
  [0x758000, 0x75ffff, "Philippines"],
  [0x760000, 0x767fff, "Pakistan"],
  [0x768000, 0x76ffff, "Singapore"],
  [0x770000, 0x777fff, "Sri Lanka"],
  [0x780000, 0x7bffff, "China"],
  [0x7c0000, 0x7fffff, "Australia"],
  [0x800000, 0x83ffff, "India"],
  [0x840000, 0x87ffff, "Japan"],
  [0x880000, 0x887fff, "Thailand"],
  [0x888000, 0x88ffff, "Vietnam"],
  [0x894000, 0x894fff, "Bahrain"],
  [0x896000, 0x896fff, "United Arab Emirates"],
  [0x899000, 0x8993ff, "Taiwan"],
  [0x8a0000, 0x8a7fff, "Indonesia"],
  [0xa00000, 0xafffff, "United States"],
  [0xc00000, 0xc3ffff, "Canada"],
  [0xc80000, 0xc87fff, "New Zealand"],
  [0xe00000, 0xe3ffff, "Argentina"],
  [0xe40000, 0xe7ffff, "Brazil"],
  [0xe80000, 0xe80fff, "Chile"],
  [0xe8c000, 0xe8cfff, "Peru"],
];

/** Country of the address block of `icao24` (6 hex digits), or null. */
export function countryOfAddress(icao24: string): string | null {
  const a = parseInt(icao24, 16);
  if (!Number.isFinite(a)) return null;
  let lo = 0, hi = BLOCKS.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const [first, last, name] = BLOCKS[mid]!;
    if (a < first) hi = mid - 1;
    else if (a > last) lo = mid + 1;
    else return name;
  }
  return null;
}
