/** Placeholder: the fuse-native transport. */
import {MountError, type MountedFs} from './mount.js'

export async function mountLibfuse(): Promise<MountedFs> {
  throw new MountError('not yet', 'ENOSYS')
}
