// Values shared by the scenario runners.

/**
 * A plain object whose wire text is several KiB: large enough that a Rust receiver keeps it as
 * text and reads typed data straight from it. Escaped arrays at several depths, strings with
 * escapes and non-ASCII, integers, fractions and booleans.
 */
export function largeRecord() {
  return {
    title: "large record",
    rows: Array.from({ length: 40 }, (_, i) => ({
      id: i,
      label: `row ${i} ✓ "quoted"\n`,
      nested: [[i], [], [[i, null]]],
      ok: i % 2 === 0,
      ratio: i / 3,
    })),
    meta: { owner: { name: "Ada" }, tags: ["a", "b"] },
  };
}
