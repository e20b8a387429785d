import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: {
    // The extension's adapter imports "vscode", which only exists inside VS Code: tests get a small fake.
    alias: { vscode: fileURLToPath(new URL("./test/fakeVscode.ts", import.meta.url)) },
  },
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
