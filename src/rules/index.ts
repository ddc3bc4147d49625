/**
 * Quiet, relevant events: which listeners to ignore, which to list without announcing, and
 * what to call each one. `loadRules()` is the entry point for every consumer.
 */
export { loadRules, findConfigFile, readConfigFile, CONFIG_FILE_NAMES } from './load.js';
export type { LoadRulesOptions } from './load.js';
export { createRules } from './rules.js';
export type { Rules, RuleBehaviour } from './rules.js';
export { parseConfigText, compileConfig, isDevcontainerFile, EMPTY_RULE_SET } from './config.js';
export type { RuleSet, LabelRule } from './config.js';
export { IGNORE_ENV, IgnoreMarker, environHasIgnoreMarker } from './ignore-marker.js';
export { withLabel, labelEvent } from './labelled.js';
export type { LabelledListener, LabelledPortEvent } from './labelled.js';
