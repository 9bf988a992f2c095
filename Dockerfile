# Worker and API image. Build: docker build -t billing-engine .   (the same image runs either process)
# Node 24 LTS; CI runs the unit and workflow tests on the same major (tools/install-node.mjs).
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# The merchant library is an npm workspace: npm ci needs its package.json to link it.
COPY packages/client/package.json ./packages/client/
# The lockfile is complete (every platform's optional packages): npm ci installs it exactly, or fails.
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY packages/client/tsconfig.build.json ./packages/client/
COPY packages/client/src ./packages/client/src
COPY src ./src
# The library first (the engine imports it by name, through node_modules' workspace link), then the engine.
RUN npm run build && npm prune --omit=dev

FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/lib ./lib
COPY --from=build /app/packages/client/package.json ./packages/client/
COPY --from=build /app/packages/client/dist ./packages/client/dist
COPY package.json ./
USER node
# Leave ~25% of the container's memory outside the heap for workflow isolates (sdk-typescript #1843).
CMD ["node", "--max-old-space-size=768", "lib/worker.js"]
