/// <reference types="vitest/config" />
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The gateway serves dist/ at "/" and the API on the same origin; `npm run dev` proxies the API to it.
const api = process.env.OUTLAY_API_URL ?? "http://127.0.0.1:8000";

export default defineConfig({
  plugins: [react()],
  build: { outDir: "dist", emptyOutDir: true },
  // ws: the live stream (WS /v1/stream) goes through the proxy too.
  server: { proxy: { "/v1": { target: api, ws: true }, "/graphql": api } },
  test: { include: ["src/**/*.test.ts"], environment: "node" },
});
