export function parseUsageDoc(markdown: string): Record<string, [string, string][]>;
export function render(keys: Record<string, [string, string][]>): string;
