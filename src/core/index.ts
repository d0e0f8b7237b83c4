/** razorfs: the RAZORFS format library. */
export * from './errors.js'
export * from './types.js'
export {fractionNs, nsFromTimespec, parseSecondsText, timespecFromNs} from './time.js'
export {Image} from './image/image.js'
import './check/image-check.js' // adds Image.check()
export type {ImageInfo, FeatureSet, RecoveryReport} from './image/image.js'
export {inspectJournal, replayJournal} from './image/journal-tools.js'
export {describeDamage} from './image/damage.js'
export type {DamagedData} from './image/damage.js'
export type {JournalReport, JournalTxReport, ReplayOptions, ReplayResult} from './image/journal-tools.js'
export {populate} from './host/populate.js'
export type {
  PopulateCounts,
  PopulateOptions,
  PopulateProgress,
  PopulateResult,
  PopulateWarning,
} from './host/populate.js'
export type {CheckOptions, CheckResult} from './check/check.js'
export {PASS_LIST, passHeading} from './check/pass-list.js'
export {PROBLEMS, PASSES, formatCode, type Problem, type ProblemDef} from './check/problems.js'
export {fsck, revertRepair, FSCK_EXIT} from './check/fsck.js'
export type {FsckMode, FsckOptions, FsckProblem, FsckReport} from './check/fsck.js'
export type {RepairAction} from './check/repair.js'
export {corrupt, CORRUPTIONS} from './debug/corrupt.js'
export type {CorruptOptions, CorruptResult} from './debug/corrupt.js'
export {populateSteps, copyIn} from './host/populate.js'
export type {CopyInOptions} from './host/populate.js'
export {extract} from './host/extract.js'
export type {ExtractSource, ExtractTarget} from './host/extract.js'
export {copyImage, isWithin} from './host/copy-image.js'
export type {ImageSource, ImageTarget} from './host/copy-image.js'
export {copyStreamIn} from './host/copy-stream.js'
export {LimitReached, emptyTotals, countEntry, unsafeName, errnoText} from './host/copy.js'
export type {
  Clobber,
  CopyOptions,
  CopyProblem,
  CopyEvent,
  CopyEntryEvent,
  CopyProgressEvent,
  CopySkippedEvent,
  CopyTotals,
} from './host/copy.js'
export {newEntryAttrs, S_ISGID} from './fs/new-entry.js'
export {baseName, looksLikeImage, planCopies} from './edit/cp-placement.js'
export {CopyCommits, DEFAULT_COMMIT_MS, type CopyCommitOptions} from './edit/copy-commit.js'
export type {CpOperand, CpPlan, CpPlanOptions, PlaceResult, Placement, PlanFailure} from './edit/cp-placement.js'
export {applyMode, modeDescription, parseMode, permString, type ModeChanges} from './edit/chmod-mode.js'
export {removeTree, type RemovedEntry, type RemoveTreeOptions, type RemoveTreeResult} from './edit/remove-tree.js'
export {chmodTree, type ChmodEntry, type ChmodTreeOptions, type ChmodTreeResult} from './edit/chmod-tree.js'
export {
  chownTree,
  type ChownEntry,
  type ChownTreeOptions,
  type ChownTreeResult,
  type OwnerIds,
} from './edit/chown-tree.js'
export {makeDirs, type MakeDirsOptions, type MakeDirsResult} from './edit/make-dirs.js'
export {mappedRanges, type ExtentSource, type MappedRange} from './fs/mapped-ranges.js'
export type {Creator, NewEntryAttrs, ParentAttrs} from './fs/new-entry.js'
export {buildImage} from './mkfs/build.js'
export type {BuildOptions, BuildPhase, BuildProgress, BuildResult, BuildWarning} from './mkfs/build.js'
export {AttrPolicy, ExcludePattern, excluder, parseIdMap, type AttrPolicyOptions, type IdRange} from './mkfs/attrs.js'
export {readTar, type TarEntry, type TarWarning} from './host/tar-reader.js'
export * from './host/manifest.js'
export {imageDigest, setImageUuid, uuidFromDigest} from './mkfs/stamp.js'
export {mkfs, compressionRatio, type MkfsOptions, type MkfsPhase, type MkfsResult} from './mkfs/mkfs.js'
export {estimate, type EstimateOptions, type EstimateResult, type MkfsSources} from './mkfs/estimate.js'
export {walkTree, type TreeExclude, type WalkEntry} from './host/tree-walk.js'
export {formatUuid, parseUuid} from './image/create-options.js'
export {PlanPool, defaultWorkers} from './fs/plan-pool.js'
export {planWindow, type PlanSettings, type WindowPlan} from './fs/data-plan.js'
export {describeHost, describeImage, describeTar, sortEntries, type DescribeOptions} from './debug/describe.js'
export {diffEntries, type Difference, type DiffField, type DiffOptions} from './debug/diff-entries.js'
