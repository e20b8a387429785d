// The dashboard's views and the location hash that names one (#/finance), so a view can be linked and reloaded.
export type View = "overview" | "engineering" | "finance" | "unit-economics" | "anomalies" | "settings";

export const VIEWS: { id: View; label: string }[] = [
  { id: "overview", label: "Overview" },
  { id: "engineering", label: "Engineering" },
  { id: "finance", label: "Finance" },
  { id: "unit-economics", label: "Unit economics" },
  { id: "anomalies", label: "Anomalies" },
  { id: "settings", label: "Settings" },
];

/** The view a location hash names, else the overview. */
export function viewOf(hash: string): View {
  const id = hash.replace(/^#\/?/, "");
  return VIEWS.find((v) => v.id === id)?.id ?? "overview";
}

/** The hash for a view (none for the overview). */
export function hashOf(view: View): string {
  return view === "overview" ? "" : `#/${view}`;
}
