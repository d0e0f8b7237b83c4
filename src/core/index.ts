/** razorfs: the RAZORFS format library. */
export * from './errors.js'
export * from './types.js'
export {Image} from './image.js'
export type {ImageInfo, FeatureSet} from './image.js'
export {populate} from './populate.js'
export type {PopulateOptions, PopulateProgress, PopulateResult, PopulateWarning} from './populate.js'
export type {CheckOptions, CheckResult} from './check/check.js'
export {PROBLEMS, PASSES, formatCode, type Problem, type ProblemDef} from './check/problems.js'
