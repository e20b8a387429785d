// The API key for this browser tab only (sessionStorage): gone when the tab closes.
const KEY = "outlay.apiKey";

export function storedKey(): string | null {
  try {
    return sessionStorage.getItem(KEY);
  } catch {
    return null;
  }
}

export function storeKey(apiKey: string | null): void {
  try {
    if (apiKey === null) sessionStorage.removeItem(KEY);
    else sessionStorage.setItem(KEY, apiKey);
  } catch {
    // storage disabled: the key lives only in memory
  }
}
