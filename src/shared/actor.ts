/**
 * Who made a change (key id and merchant) and the change trail's kinds: defined in src/domain/actor.ts, which the
 * domain machines use (the domain imports no contracts), and re-exported here for everything above the domain.
 */
export * from '../domain/actor';
