/** Listeners and events with the label the rules give them, as JSON consumers see them. */
import type { Listener, PortEvent } from '../listener.js';
import type { Rules } from './rules.js';

export type LabelledListener = Listener & { label: string | null };
export type LabelledPortEvent = Omit<PortEvent, 'listener'> & { listener: LabelledListener };

export function withLabel(listener: Listener, rules: Pick<Rules, 'label'>): LabelledListener {
  return { ...listener, label: rules.label(listener) };
}

export function labelEvent(event: PortEvent, rules: Pick<Rules, 'label'>): LabelledPortEvent {
  return { ...event, listener: withLabel(event.listener, rules) };
}
