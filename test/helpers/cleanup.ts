/**
 * tap `after` hook (.taprc): remove this run's cache of generated host trees
 * (test/helpers/tree.ts), and those of earlier runs that were killed.
 * Trees cached with RAZORFS_TEST_KEEP_TREES=1 are left alone.
 */
import {cleanupTreeCaches} from './tree.js'

cleanupTreeCaches()
